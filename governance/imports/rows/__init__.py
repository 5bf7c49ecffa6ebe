"""Turning mapped CSV rows into organizations, contacts and deals, a chunk at a time.

An importer reads a chunk of rows (`plan`, no writes: the preview uses it too), matches
them with existing records by the duplicate keys of the contacts app (a contact's e-mail
or else its name, an organization's domain or else its normalized name, a deal's name
within its organization), and decides per row: create, update, unchanged or refuse (with
every reason). `apply` then writes: new organizations and contacts in bulk (validated
row by row first), changes to existing records through the contacts and pipeline
services (audit, events and rules included), deals through `create_deal`/`move_deal` so
stage criteria and assignment rules apply. A row is never dropped silently: it is
created, updated, unchanged, or refused with its reason.
"""

from governance.imports.rows.base import Importer
from governance.imports.rows.contacts import ContactImporter
from governance.imports.rows.deals import DealImporter
from governance.imports.rows.organizations import OrganizationImporter

IMPORTERS: dict[str, type[Importer]] = {
    "contacts": ContactImporter,
    "organizations": OrganizationImporter,
    "deals": DealImporter,
}
