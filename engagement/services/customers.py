"""Customers (design §12): made race-free on first use, their tags added and never removed by the API."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Aggregate, CharField, OuterRef, QuerySet, Subquery
from django.utils import timezone

from core.errors import DomainError, NotFound

from ..models import EXTERNAL_ID, TAG, Customer, CustomerTag
from ..rules import MAX_TAGS, normalize_tag


@dataclass(frozen=True)
class CustomerIn:
    """A customer as a request names it: the id, and what it tells of them (blank: nothing new)."""

    external_id: str
    email: str = ""
    mobile: str = ""
    tags: tuple[str, ...] = field(default_factory=tuple)

    def as_sent(self) -> dict:
        return {"external_id": self.external_id, "email": self.email, "mobile": self.mobile, "tags": list(self.tags)}


def checked(customer: CustomerIn) -> CustomerIn:
    """The customer with its tags normalized (trimmed, lower-cased, each once), or ``invalid_request``."""
    problems: dict[str, list[str]] = {}
    try:
        EXTERNAL_ID(customer.external_id)
    except ValidationError as error:
        problems["external_id"] = list(error.messages)
    tags = tuple(dict.fromkeys(normalize_tag(tag) for tag in customer.tags))
    bad = [tag for tag in tags if not _valid_tag(tag)]
    if bad:
        problems["tags"] = [f"{tag!r}: {TAG.message}" for tag in bad[:5]]
    elif len(tags) > MAX_TAGS:
        problems["tags"] = [f"At most {MAX_TAGS} tags."]
    if problems:
        raise DomainError("The customer is not valid.", fields=problems)
    return CustomerIn(customer.external_id, customer.email, customer.mobile, tags)


def _valid_tag(tag: str) -> bool:
    try:
        TAG(tag)
    except ValidationError:
        return False
    return True


def upsert_customer(organization_id: int, customer: CustomerIn) -> Customer:
    """The organization's customer of ``external_id``, made on first use (INSERT … ON CONFLICT DO NOTHING, then
    read: concurrent first uses make one row), with the email and mobile given and its new tags added."""
    now = timezone.now()
    meta = Customer._meta
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {qn(meta.db_table)} (organization_id, external_id, email, mobile, created_at, updated_at) "
            f"VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (organization_id, external_id) DO NOTHING",
            [organization_id, customer.external_id, customer.email, customer.mobile, now, now],
        )
    found = Customer._base_manager.get(organization_id=organization_id, external_id=customer.external_id)
    changed = {name: value for name in ("email", "mobile")
               if (value := getattr(customer, name)) and value != getattr(found, name)}
    if changed:
        Customer._base_manager.filter(pk=found.pk).update(**changed, updated_at=now)
        for name, value in changed.items():
            setattr(found, name, value)
    if customer.tags:
        add_tags(found, customer.tags)
    return found


def add_tags(customer: Customer, tags: Iterable[str]) -> list[str]:
    """Add the (normalized) tags the customer lacks; at most ``MAX_TAGS`` in all. Returns its tags."""
    tags = list(dict.fromkeys(tags))
    have = set(tag_names(customer))
    missing = [tag for tag in tags if tag not in have]
    if not missing:
        return sorted(have)
    # The customer's row lock serializes its tag writers, so the limit holds under concurrent requests.
    Customer._base_manager.select_for_update().filter(pk=customer.pk).values_list("pk").get()
    have = set(tag_names(customer))
    missing = [tag for tag in missing if tag not in have]
    if len(have) + len(missing) > MAX_TAGS:
        raise DomainError(f"A customer has at most {MAX_TAGS} tags.", fields={"tags": [f"At most {MAX_TAGS}."]})
    CustomerTag._base_manager.bulk_create([CustomerTag(customer=customer, tag=tag) for tag in missing],
                                          ignore_conflicts=True)
    return sorted(have | set(missing))


def tag_names(customer: Customer) -> list[str]:
    return list(CustomerTag._base_manager.filter(customer_id=customer.pk).order_by("tag").values_list("tag", flat=True))


def find_customer(organization_id: int, external_id: str) -> Customer:
    found = Customer._base_manager.filter(organization_id=organization_id, external_id=external_id).first()
    if found is None:
        raise unknown_customer()
    return found


def unknown_customer() -> NotFound:
    return NotFound("No customer has that external id.")


def set_tags(customer: Customer, tags: Iterable[str]) -> list[str]:
    """An admin's edit: the customer's tags become exactly ``tags`` (normalized, checked as the API checks them)."""
    wanted = checked(CustomerIn(customer.external_id, tags=tuple(tags))).tags
    with transaction.atomic():
        # The customer's row lock, as add_tags takes it: no API request adds a tag in between.
        Customer._base_manager.select_for_update().filter(pk=customer.pk).values_list("pk").get()
        CustomerTag._base_manager.filter(customer_id=customer.pk).exclude(tag__in=wanted).delete()
        CustomerTag._base_manager.bulk_create([CustomerTag(customer=customer, tag=tag) for tag in wanted],
                                              ignore_conflicts=True)
    return sorted(wanted)


def create_customer(organization_id: int, customer: CustomerIn) -> Customer:
    """An admin's new customer; an external id already taken is refused (the API's upsert would reuse it)."""
    customer = checked(customer)
    if Customer._base_manager.filter(organization_id=organization_id, external_id=customer.external_id).exists():
        raise DomainError("A customer has this external id already.",
                          fields={"external_id": ["Taken by another customer."]})
    with transaction.atomic():
        return upsert_customer(organization_id, customer)


class _JoinedTags(Aggregate):
    """The tags of a group, space-separated in order (STRING_AGG on PostgreSQL, GROUP_CONCAT on SQLite)."""

    function = "STRING_AGG"
    template = "%(function)s(%(expressions)s, ' ' ORDER BY %(expressions)s)"
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, function="GROUP_CONCAT",
                              template="%(function)s(%(expressions)s, ' ')", **extra)


def with_tag_list(customers: QuerySet) -> QuerySet:
    """Customers annotated with ``tag_list``, their tags as one text (one subquery, no row per tag)."""
    tags = (CustomerTag._base_manager.filter(customer_id=OuterRef("pk")).order_by().values("customer_id")
            .annotate(joined=_JoinedTags("tag")).values("joined"))
    return customers.annotate(tag_list=Subquery(tags, output_field=CharField()))
