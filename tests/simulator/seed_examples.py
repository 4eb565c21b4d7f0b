"""The seed documents' examples, copied (Kore.ai's missing comma after "customId" fixed)."""

from __future__ import annotations

from typing import Any

CONVOSO_PRODUCTIVITY = {"success": True, "data": {"offset": 0, "limit": "10", "total": "14", "entries": [{
    "id": "999999993", "user_id": "12345678", "state": "LOGIN", "availability_code": "1", "campaign_id": "1234",
    "event_epoch": "1748433437", "event_sec": "00:00:03", "created_at": "2025-05-28 04:57:17",
    "browser": "agent-dt.convoso.com ---- Mozilla/5.0", "ip_address": "124.106.110.20",
    "user_uid": "xxxxisbvax4z4mgembpadlrws6xxxx", "user_name": "Example Agent", "availability_code_name": "",
    "campaign_uid": "xxxxx86t69rrnncou5aj0oqmfi8xxy2", "campaign_name": "Campaign 1", "campaign_type": "Normal",
    "availability_name": "Login"}]}}

CONVOSO_USER_ACTIVITY = {"success": True, "data": {"available_agents": 36, "logged_in_agents": 125}}

_ORDER = ("agentId", "type", "category", "name", "eligibleForRouting", "start", "status", "duration", "reason",
          "interaction", "channel", "workload")


def _item(**fields: Any) -> dict[str, Any]:
    """An example item in the document's key order; unspecified keys are null."""
    return {key: fields.get(key) for key in _ORDER}


VONAGE_PRESENCE = _item(agentId="01", type="Presence", category="Ready", name="Ready", eligibleForRouting=True,
                        start="2019-12-19T15:47:16.600Z", duration=120000)
VONAGE_WORKLOAD = _item(agentId="01", type="Workload", start="2019-12-19T15:47:30.246Z", duration=86354,
                        workload={"calls": 1, "semiLive": 0, "nonLive": 0})
VONAGE_INTERACTION = _item(agentId="01", type="Interaction", category="Ringing", start="2019-12-19T15:47:31.289Z",
                           status="Completed", duration=4547,
                           interaction={"guid": "016f1c6b-9766-498c-9756-30afb0354d5b", "medium": "Phone",
                                        "mediumManager": "VCC", "direction": "Inbound"},
                           channel={"guid": None})
VONAGE_RESPONSE = {"meta": {"page": 1, "count": 6, "pageCount": 1, "totalCount": 6},
                   "items": [VONAGE_PRESENCE], "upTo": "2019-12-19T15:49:39.389Z"}

KOREAI_RESPONSE: dict[str, Any] = {"hasMore": False, "limit": 3, "offset": 2, "data": [
    {"userId": "u-388b2b2a-264d-511d-918e-f746e5e1xxxx", "firstName": "John", "lastName": "Doe",
     "email": "john.doe@example.com"},
    {"userId": "u-fdc72ca0-a35d-57ff-bcb3-a33904a4xxxx", "firstName": "", "lastName": "",
     "email": "john.doe1@example.com", "customId": "123456", "status": [
         {"primaryStatus": "AVAILABLE", "secondaryStatus": "AVAILABLE", "startTime": "2023-03-09T13:20:38",
          "endTime": "2023-03-10T21:37:42", "duration": "32:17:04"},
         {"primaryStatus": "BUSY", "secondaryStatus": "NBK", "startTime": "2023-03-10T21:51:02",
          "endTime": "-", "duration": "-"}]}]}

ROCKETCHAT_RESPONSE = {"total": 51, "data": [{"label": "9iN96PXnDK7XAYESA", "value": 4}], "unspecified": 9,
                       "success": True}
ROCKETCHAT_400 = [
    {"success": False, "error": "must have required property 'start' [invalid-params]", "errorType": "invalid-params"},
    {"success": False, "error": "The \"start\" query parameter must be a valid date."},
    {"success": False, "error": "must have required property 'end' [invalid-params]", "errorType": "invalid-params"},
    {"success": False, "error": "The \"end\" query parameter must be a valid date."},
]
ROCKETCHAT_401 = {"status": "error", "message": "You must be logged in to do this."}
ROCKETCHAT_403 = {"success": False,
                  "error": "User does not have the permissions required for this action [error-unauthorized]"}


def shape(value: Any) -> Any:
    """Keys and JSON types, recursively (lists by their first element)."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def assert_like(actual: dict[str, Any], example: dict[str, Any]) -> None:
    """Same keys in the same order; each value has the example's type, or null where the doc allows it."""
    assert list(actual) == list(example), (list(actual), list(example))
    for key, expected in example.items():
        got = actual[key]
        if expected is None or got is None:
            continue
        if isinstance(expected, dict):
            assert isinstance(got, dict), key
            assert_like(got, expected)
        else:
            assert type(got) is type(expected), (key, got, expected)
