"""ShipStation API v1 JSON shapes, key for key and in ShipStation's key order.

Every key of the reference's field lists is always present (null when unknown), because
clients index into them without ``.get``; money leaves as ``Decimal`` and is written as a
2-decimal JSON number by :func:`sandbox.framework.json_bytes`.
"""

from __future__ import annotations

from typing import Any

from sandbox.shipstation.dates import format_date, format_timestamp
from sandbox.shipstation.models import (
    Address,
    Dimensions,
    Fulfillment,
    InternationalOptions,
    Order,
    OrderItem,
    Shipment,
    Store,
    Tag,
    Webhook,
)


def _ts(moment: Any) -> str | None:
    return None if moment is None else format_timestamp(moment)


def address(a: Address) -> dict[str, Any]:
    return {
        "name": a.name,
        "company": a.company,
        "street1": a.street1,
        "street2": a.street2,
        "street3": a.street3,
        "city": a.city,
        "state": a.state,
        "postalCode": a.postal_code,
        "country": a.country,
        "phone": a.phone,
        "residential": a.residential,
        "addressVerified": a.address_verified,
    }


def weight(ounces: Any) -> dict[str, Any] | None:
    if ounces is None:
        return None
    return {"value": ounces, "units": "ounces", "WeightUnits": 1}


def dimensions(d: Dimensions | None) -> dict[str, Any] | None:
    if d is None:
        return None
    return {"units": d.units, "length": d.length, "width": d.width, "height": d.height}


def item(i: OrderItem, quantity: int | None = None) -> dict[str, Any]:
    return {
        "orderItemId": i.order_item_id,
        "lineItemKey": i.line_item_key,
        "sku": i.sku,
        "name": i.name,
        "imageUrl": i.image_url,
        "weight": weight(i.weight_oz),
        "quantity": i.quantity if quantity is None else quantity,
        "unitPrice": i.unit_price,
        "taxAmount": i.tax_amount,
        "shippingAmount": i.shipping_amount,
        "warehouseLocation": i.warehouse_location,
        "options": [{"name": n, "value": v} for n, v in i.options],
        "productId": i.product_id,
        "fulfillmentSku": i.fulfillment_sku,
        "adjustment": i.adjustment,
        "upc": i.upc,
        "createDate": _ts(i.create_date),
        "modifyDate": _ts(i.modify_date),
    }


def international(opts: InternationalOptions | None) -> dict[str, Any]:
    if opts is None:
        return {"contents": None, "customsItems": None, "nonDelivery": None}
    customs = None
    if opts.customs_items is not None:
        customs = [
            {
                "customsItemId": c.customs_item_id,
                "description": c.description,
                "quantity": c.quantity,
                "value": c.value,
                "harmonizedTariffCode": c.harmonized_tariff_code,
                "countryOfOrigin": c.country_of_origin,
            }
            for c in opts.customs_items
        ]
    return {"contents": opts.contents, "customsItems": customs, "nonDelivery": opts.non_delivery}


def order(o: Order) -> dict[str, Any]:
    return {
        "orderId": o.order_id,
        "orderNumber": o.order_number,
        "orderKey": o.order_key,
        "orderDate": _ts(o.order_date),
        "createDate": _ts(o.create_date),
        "modifyDate": _ts(o.modify_date),
        "paymentDate": _ts(o.payment_date),
        "shipByDate": _ts(o.ship_by_date),
        "orderStatus": o.status,
        "customerId": o.customer_id,
        "customerUsername": o.customer_username,
        "customerEmail": o.customer_email,
        "billTo": address(o.bill_to),
        "shipTo": address(o.ship_to),
        "items": [item(i) for i in o.items],
        "orderTotal": o.order_total,
        "amountPaid": o.amount_paid,
        "taxAmount": o.tax_amount,
        "shippingAmount": o.shipping_amount,
        "customerNotes": o.customer_notes,
        "internalNotes": o.internal_notes,
        "gift": o.gift,
        "giftMessage": o.gift_message,
        "paymentMethod": o.payment_method,
        "requestedShippingService": o.requested_shipping_service,
        "carrierCode": o.carrier_code,
        "serviceCode": o.service_code,
        "packageCode": o.package_code,
        "confirmation": o.confirmation,
        "shipDate": None if o.ship_date is None else format_date(o.ship_date),
        "holdUntilDate": _ts(o.hold_until_date),
        "weight": weight(o.weight_oz),
        "dimensions": dimensions(o.dimensions),
        "insuranceOptions": {
            "provider": "carrier" if o.insure_shipment else None,
            "insureShipment": o.insure_shipment,
            "insuredValue": o.insured_value,
        },
        "internationalOptions": international(o.international),
        "advancedOptions": {
            "warehouseId": o.warehouse_id,
            "nonMachinable": False,
            "saturdayDelivery": False,
            "containsAlcohol": False,
            "storeId": o.store_id,
            "customField1": o.custom_field1,
            "customField2": o.custom_field2,
            "customField3": o.custom_field3,
            "source": o.source,
            "mergedOrSplit": o.merged_or_split,
            "mergedIds": list(o.merged_ids),
            "parentId": o.parent_id,
            "billToParty": None,
            "billToAccount": None,
            "billToPostalCode": None,
            "billToCountryCode": None,
            "billToMyOtherAccount": None,
        },
        "tagIds": None if o.tag_ids is None else list(o.tag_ids),
        "userId": o.user_id,
        "externallyFulfilled": o.externally_fulfilled,
        "externallyFulfilledBy": o.externally_fulfilled_by,
        "externallyFulfilledById": o.externally_fulfilled_by_id,
        "externallyFulfilledByName": o.externally_fulfilled_by_name,
        "labelMessages": None,
    }


def shipment(s: Shipment, *, include_items: bool) -> dict[str, Any]:
    return {
        "shipmentId": s.shipment_id,
        "orderId": s.order_id,
        "orderKey": s.order_key,
        "userId": s.user_id,
        "customerEmail": s.customer_email,
        "orderNumber": s.order_number,
        "createDate": _ts(s.create_date),
        "shipDate": format_date(s.ship_date),
        "shipmentCost": s.shipment_cost,
        "insuranceCost": s.insurance_cost,
        "trackingNumber": s.tracking_number,
        "isReturnLabel": s.is_return_label,
        "batchNumber": s.batch_number,
        "carrierCode": s.carrier_code,
        "serviceCode": s.service_code,
        "packageCode": s.package_code,
        "confirmation": s.confirmation,
        "warehouseId": s.warehouse_id,
        "voided": s.voided,
        "voidDate": _ts(s.void_date),
        "marketplaceNotified": s.marketplace_notified,
        "notifyErrorMessage": s.notify_error_message,
        "shipTo": address(s.ship_to),
        "weight": weight(s.weight_oz),
        "dimensions": dimensions(s.dimensions),
        "insuranceOptions": {
            "provider": "carrier" if s.insurance_cost else None,
            "insureShipment": bool(s.insurance_cost),
            "insuredValue": s.insured_value,
        },
        "advancedOptions": {
            "billToParty": s.bill_to_party,
            "billToAccount": None,
            "billToPostalCode": None,
            "billToCountryCode": None,
            "storeId": s.store_id,
        },
        "shipmentItems": [item(i, q) for i, q in s.items] if include_items else None,
        "labelData": None,
        "formData": None,
    }


def fulfillment(f: Fulfillment) -> dict[str, Any]:
    return {
        "fulfillmentId": f.fulfillment_id,
        "orderId": f.order_id,
        "orderNumber": f.order_number,
        "userId": f.user_id,
        "customerEmail": f.customer_email,
        "trackingNumber": f.tracking_number,
        "createDate": _ts(f.create_date),
        "shipDate": _ts(f.ship_stamp),
        "voidDate": _ts(f.void_date),
        "deliveryDate": _ts(f.delivery_date),
        "carrierCode": f.carrier_code,
        "fulfillmentProviderCode": f.fulfillment_provider_code,
        "fulfillmentServiceCode": f.fulfillment_service_code,
        "fulfillmentFee": f.fulfillment_fee,
        "voidRequested": f.void_requested,
        "voided": f.voided,
        "marketplaceNotified": f.marketplace_notified,
        "notifyErrorMessage": f.notify_error_message,
        "shipTo": address(f.ship_to),
        "sellerFillProviderId": f.seller_fill_provider_id,
        "sellerFillProviderName": f.seller_fill_provider_name,
    }


def store(s: Store) -> dict[str, Any]:
    return {
        "storeId": s.store_id,
        "storeName": s.store_name,
        "marketplaceId": s.marketplace_id,
        "marketplaceName": s.marketplace_name,
        "accountName": s.account_name,
        "email": s.email,
        "integrationUrl": s.integration_url,
        "active": s.active,
        "companyName": s.company_name,
        "phone": s.phone,
        "publicEmail": s.public_email,
        "website": s.website,
        "refreshDate": _ts(s.refresh_date),
        "lastRefreshAttempt": _ts(s.last_refresh_attempt),
        "createDate": _ts(s.create_date),
        "modifyDate": _ts(s.modify_date),
        "autoRefresh": s.auto_refresh,
        "statusMappings": None,
    }


def tag(t: Tag) -> dict[str, Any]:
    return {"tagId": t.tag_id, "name": t.name, "color": t.color}


def webhook(w: Webhook, seller_id: int) -> dict[str, Any]:
    return {
        "IsLabelAPIHook": False,
        "WebHookID": w.webhook_id,
        "SellerID": seller_id,
        "StoreID": w.store_id,
        "HookType": w.event,
        "MessageFormat": "Json",
        "Url": w.target_url,
        "Name": w.friendly_name,
        "BulkCopyBatchID": None,
        "BulkCopyRecordID": None,
        "Active": True,
        "WebhookLogs": [],
        "Seller": None,
        "Store": None,
    }
