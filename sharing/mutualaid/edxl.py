"""A mutual-aid request's history as a thread of EDXL-RM 1.0 messages (OASIS, 2009), in XML.

Each row of the request's thread (sharing.mutualaid.models.RequestMessage) is one message:
RequestResource, ResponseToRequestResource, CommitResource, ReportResourceDeploymentStatus,
ReleaseResource, RequestReturn, ResponseToRequestReturn. Every message carries its MessageID;
every reply names the thread's first message (OriginatingMessageID) and the one it answers
(PrecedingMessageID), so a receiving system can rebuild the conversation.

The messages travel in one EDXL-DE 1.0 distribution (the envelope EDXL specifies for carrying
its messages), one contentObject each, in the order they were sent. Element names and order
follow the EDXL-RM 1.0 message schemas: message elements in the `msg` namespace, common
types in the RM namespace. Built with lxml; no text goes in unescaped.
"""

from lxml import etree

from incidents.payloads import cluster_zone
from sharing.mutualaid.models import RequestMessage, ResourceRequest

DE = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
MSG = "urn:oasis:names:tc:emergency:EDXL:RM:1.0:msg"
RM = "urn:oasis:names:tc:emergency:EDXL:RM:1.0"
GML = "http://www.opengis.net/gml"
NSMAP = {None: DE, "rmsg": MSG, "rm": RM, "gml": GML}
RESOURCE_TYPES_URN = "urn:liandong:resource-types"
DEPLOYMENT_STATUS_URN = "urn:liandong:deployment-status"

# EDXL-RM contact roles of the two parties.
CONTACT_ROLE = {"requester": "Requester", "supplier": "RespondingOrg"}
# The scheduled time each message reports, where it reports one.
SCHEDULE_TYPE = {"RequestResource": "RequestedArrival", "Dispatched": "ActualDeparture", "Arrived": "ActualArrival",
                 "RequestReturn": "RequestedReturnArrival", "ResponseToRequestReturn": "ActualReturnArrival"}


def message_id(message: RequestMessage) -> str:
    return f"urn:liandong:resource-request:{message.request_id}:message:{message.pk}"


def _sub(parent, namespace: str, tag: str, text=None):
    element = etree.SubElement(parent, f"{{{namespace}}}{tag}")
    if text is not None:
        element.text = str(text)
    return element


def thread_document(request: ResourceRequest, messages: list[RequestMessage], *, data: dict,
                    names: dict[str, str]) -> bytes:
    """The distribution. `data` is the request as the reader may have it (the selectors' answer,
    withheld fields removed): the requester's contact persons, the incident and the place are
    said only where it holds them. `names` maps jurisdiction codes to display names."""
    zone = cluster_zone(request.cluster_id)
    contacts = data.get("contacts")
    # The incident by id and title, and the place, only for a reader who may see the incident
    # (the selectors leave "incident" out otherwise); its title names an unnamed place.
    incident = request.incident if "incident" in data else None
    location = data.get("location")
    place = None if location is None else {
        **location, "name": location["name"] or (incident.title if incident is not None else "")}

    def when(value) -> str:
        return value.astimezone(zone).isoformat(timespec="seconds")

    root = etree.Element(f"{{{DE}}}EDXLDistribution", nsmap=NSMAP)
    _sub(root, DE, "distributionID", f"urn:liandong:resource-request:{request.pk}:thread")
    _sub(root, DE, "senderID", f"liandong:{request.requester_id}")
    _sub(root, DE, "dateTimeSent", when(messages[-1].at if messages else request.created_at))
    _sub(root, DE, "distributionStatus", "Exercise" if request.exercise else "Actual")
    _sub(root, DE, "distributionType", "Report")
    _sub(root, DE, "combinedConfidentiality", "UNCLASSIFIED AND NOT SENSITIVE")
    originating = message_id(messages[0]) if messages else None
    for message in messages:
        content = _sub(root, DE, "contentObject")
        _sub(content, DE, "contentDescription", message.message_type)
        if incident is not None:
            _sub(content, DE, "incidentID", incident.public_id)
            _sub(content, DE, "incidentDescription", incident.title)
        embedded = _sub(_sub(content, DE, "xmlContent"), DE, "embeddedXMLContent")
        _message(embedded, request, message, originating=originating, contacts=contacts, names=names, when=when,
                 incident=incident, place=place)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _message(parent, request: ResourceRequest, message: RequestMessage, *, originating: str, contacts, names,
             when, incident, place: dict | None) -> None:
    rtype = request.resource_type
    element = _sub(parent, MSG, message.message_type)
    _sub(element, MSG, "MessageID", message_id(message))
    _sub(element, MSG, "SentDateTime", when(message.at))
    _sub(element, MSG, "MessageContentType", message.message_type)
    description = message.note or (f"Deployment status: {message.deployment_status}" if message.deployment_status
                                   else "")
    if description:
        _sub(element, MSG, "MessageDescription", description)
    if message.preceding_id is not None:
        _sub(element, MSG, "OriginatingMessageID", originating)
        _sub(element, MSG, "PrecedingMessageID", f"urn:liandong:resource-request:{request.pk}:message:"
                                                 f"{message.preceding_id}")
    if incident is not None:
        information = _sub(element, MSG, "IncidentInformation")
        _sub(information, RM, "IncidentDescription", incident.title)
        _sub(information, RM, "IncidentID", incident.public_id)

    sender_is_requester = message.sender_id == request.requester_id
    contact = _sub(element, MSG, "ContactInformation")
    _sub(contact, RM, "ContactDescription", names.get(message.sender_id, message.sender_id))
    _sub(contact, RM, "ContactRole", CONTACT_ROLE["requester" if sender_is_requester else "supplier"])
    if sender_is_requester and contacts:
        people = "; ".join(" ".join(filter(None, (c["name"], c.get("role"), c.get("phone")))) for c in contacts)
        _sub(contact, RM, "AdditionalContactInformation", people)

    info = _sub(element, MSG, "ResourceInformation")
    _sub(info, MSG, "ResourceInfoElementID", str(message.offer_id or request.pk))
    if message.preceding_id is not None:
        response = _sub(info, MSG, "ResponseInformation")
        _sub(response, RM, "PrecedingResourceInfoElementID", str(request.pk if message.message_type ==
                                                                  "ResponseToRequestResource" else message.offer_id))
        _sub(response, RM, "ResponseType", "Accept")
    resource = _sub(info, MSG, "Resource")
    type_structure = _sub(resource, MSG, "TypeStructure")
    _sub(type_structure, RM, "ValueListURN", RESOURCE_TYPES_URN)
    _sub(type_structure, RM, "Value", rtype.code)
    _sub(resource, MSG, "Name", f"{rtype.name_zh} ({rtype.name_en})")
    if message.deployment_status:
        status = _sub(_sub(resource, MSG, "ResourceStatus"), RM, "DeploymentStatus")
        _sub(status, RM, "ValueListURN", DEPLOYMENT_STATUS_URN)
        _sub(status, RM, "Value", message.deployment_status)
    if message.quantity is not None:
        quantity = _sub(_sub(info, MSG, "AssignmentInformation"), MSG, "Quantity")
        measured = _sub(quantity, RM, "MeasuredQuantity")
        _sub(measured, RM, "Amount", message.quantity)
        _sub(measured, RM, "UnitOfMeasure", rtype.unit)
    schedule_type = SCHEDULE_TYPE.get(message.deployment_status or message.message_type)
    if schedule_type:
        schedule = _sub(info, MSG, "ScheduleInformation")
        _sub(schedule, MSG, "ScheduleType", schedule_type)
        _sub(schedule, MSG, "DateTime", when(request.needed_by if schedule_type == "RequestedArrival" else message.at))
        if schedule_type == "RequestedArrival" and place is not None:
            location = _sub(schedule, MSG, "Location")
            _sub(location, RM, "LocationDescription", place["name"])
            if place["lat"] is not None:
                point = _sub(_sub(location, RM, "TargetArea"), GML, "Point")
                _sub(point, GML, "pos", f"{place['lat']} {place['lon']}")
