"""An erased person leaves the webhook log too: the bodies we sent (or still would send) carry their address.
What already reached a receiver is that receiver's to erase."""

from leads.privacy import ErasedPerson, register_eraser
from webhooks.models import Delivery


def erase_deliveries(person: ErasedPerson) -> None:
    Delivery.objects.filter(lead=person.lead).delete()


register_eraser(erase_deliveries)
