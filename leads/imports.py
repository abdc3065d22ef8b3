"""Lead import (Excel/CSV): a spec for accounts' generic import engine, not a copy of it.

The engine (accounts.services.imports) parses, previews and applies all-or-nothing; this module
only says which columns a lead file has, which checks need the database (duplicates against
leads and customers, owners in the importer's scope, channels by code or name) and how rows
become leads. Registered in LeadsConfig.ready, so the engine's Celery task can apply lead jobs.
"""

from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from accounts.models import Contact, Customer, ImportJob
from accounts.services.customers import normalize_name
from accounts.services.imports import (
    CHUNK,
    EMPLOYEE_BAND_COLUMN,
    INDUSTRY_COLUMN,
    Column,
    ImportSpec,
    ParsedRow,
    Validation,
    chunked,
    parse_email,
    parse_phone,
    parse_text,
)
from crm.access import is_admin, managed_team_ids

from .models import OPEN_STATUSES, Channel, Lead, LeadStatus, PoolReason, ScoringPolicy
from .services import compute_score


def _parse_yes(value: str) -> bool:
    return value.strip().lower() in {"1", "y", "yes", "true", "是", "有", "√", "✓"}


def _parse_count(value: str) -> int:
    from django.core.exceptions import ValidationError

    try:
        count = int(float(value))
    except ValueError:
        raise ValidationError(_("Enter a whole number.")) from None
    if count < 0 or count > 10000:
        raise ValidationError(_("Enter a whole number.")) from None
    return count


class LeadImportSpec(ImportSpec):
    """One row = one lead. Blank owner = the public pool."""

    kind = "leads"
    template_name = "leads"
    columns = (
        Column(
            "company",
            "公司名称",
            "Company",
            parse_text(200),
            True,
            ("公司", "客户名称"),
            "杭州云帆科技有限公司",
            "Yunfan Tech",
        ),
        Column("contact_name", "联系人", "Contact", parse_text(60), example_zh="周云帆", example_en="Zhou Yunfan"),
        Column("title", "职位", "Title", parse_text(60), example_zh="CEO", example_en="CEO"),
        Column(
            "phone", "电话", "Phone", parse_phone, aliases=("手机",), example_zh="13812345678", example_en="13812345678"
        ),
        Column("email", "邮箱", "Email", parse_email, example_zh="zhou@example.com", example_en="zhou@example.com"),
        Column(
            "channel", "渠道", "Channel", parse_text(80), aliases=("来源",), example_zh="官网表单", example_en="website"
        ),
        INDUSTRY_COLUMN,
        EMPLOYEE_BAND_COLUMN,
        Column("province", "省份", "Province", parse_text(20), example_zh="浙江", example_en="Zhejiang"),
        Column("city", "城市", "City", parse_text(40), example_zh="杭州", example_en="Hangzhou"),
        Column("needs", "需求", "Needs", parse_text(2000), example_zh="线索管理", example_en="Lead management"),
        Column("interaction_count", "互动次数", "Interactions", _parse_count, example_zh="2", example_en="2"),
        Column(
            "decision_maker_reached",
            "已接触决策人",
            "Decision-maker reached",
            _parse_yes,
            example_zh="是",
            example_en="yes",
        ),
        Column("owner", "负责人", "Owner", parse_text(150), aliases=("owner username",), example_zh="", example_en=""),
    )

    def check(self, validation: Validation, *, user) -> None:
        rows = validation.rows
        self._check_channels(validation, rows)
        self._check_duplicates(validation, rows)
        self._check_owners(validation, rows, user)

    def _check_channels(self, validation: Validation, rows: list[ParsedRow]) -> None:
        lookup = {}
        for pk, code, name in Channel.objects.values_list("pk", "code", "name"):
            lookup[code.lower()] = lookup[name.lower()] = pk
        for row in rows:
            text = (row.values.get("channel") or "").strip().lower()
            if not text:
                row.values["channel_id"] = None
            elif text in lookup:
                row.values["channel_id"] = lookup[text]
            else:
                validation.add_error(row.number, "channel", _("Unknown channel “%(value)s”.") % {"value": text})

    def _check_duplicates(self, validation: Validation, rows: list[ParsedRow]) -> None:
        seen: dict[str, int] = {}
        for row in rows:
            name = row.values.get("company") or ""
            normalized = row.values["normalized_company"] = normalize_name(name)
            if normalized in seen:
                message = _("Same company as row %(row)d of this file.") % {"row": seen[normalized]}
                validation.add_error(row.number, "company", message)
            seen.setdefault(normalized, row.number)
        names, phones = list(seen), sorted({r.values["phone"] for r in rows if r.values.get("phone")})
        lead_names, lead_phones, customer_names, contact_phones = {}, {}, {}, {}
        for chunk in chunked(names):
            lead_names |= dict(
                Lead.objects.filter(normalized_company__in=chunk, status__in=OPEN_STATUSES).values_list(
                    "normalized_company", "company"
                )
            )
            customer_names |= dict(
                Customer.objects.filter(normalized_name__in=chunk, merged_into__isnull=True).values_list(
                    "normalized_name", "name"
                )
            )
        for chunk in chunked(phones):
            lead_phones |= dict(
                Lead.objects.filter(phone__in=chunk, status__in=OPEN_STATUSES).values_list("phone", "company")
            )
            contact_phones |= dict(Contact.objects.filter(phone__in=chunk).values_list("phone", "customer__name"))
        for row in rows:
            normalized, phone = row.values["normalized_company"], row.values.get("phone")
            found = lead_names.get(normalized) or customer_names.get(normalized)
            key = "company"
            if not found and phone:
                found, key = lead_phones.get(phone) or contact_phones.get(phone), "phone"
            if found:
                message = _("A lead or customer with this company name or phone already exists: %(names)s.")
                validation.add_error(row.number, key, message % {"names": found})

    def _check_owners(self, validation: Validation, rows: list[ParsedRow], user) -> None:
        usernames = sorted({r.values["owner"] for r in rows if r.values.get("owner")})
        users = {}
        for chunk in chunked(usernames):
            found = get_user_model().objects.filter(username__in=chunk, is_active=True)
            users |= {u: (pk, team) for u, pk, team in found.values_list("username", "pk", "profile__team")}
        allowed, admin = set(managed_team_ids(user)), is_admin(user)
        for row in rows:
            username = row.values.get("owner") or ""
            if not username:
                row.values["owner_id"] = row.values["team_id"] = None
                continue
            if username not in users:
                message = _("Unknown or inactive user “%(name)s”.") % {"name": username}
                validation.add_error(row.number, "owner", message)
                continue
            pk, team = users[username]
            if not (admin or pk == user.pk or (team is not None and team in allowed)):
                message = _("You may not give leads to “%(name)s” (not in a team you manage).")
                validation.add_error(row.number, "owner", message % {"name": username})
                continue
            row.values["owner_id"], row.values["team_id"] = pk, team

    def write(self, rows: list[ParsedRow], context: dict, *, user, job: ImportJob, progress) -> dict[str, int]:
        policy = ScoringPolicy.current()
        quality = dict(Channel.objects.values_list("pk", "quality"))
        now = timezone.now()
        created = 0
        for chunk in chunked(rows, CHUNK):
            leads = []
            for row in chunk:
                v = {k: val for k, val in row.values.items() if val is not None}
                lead = Lead(
                    company=v["company"],
                    normalized_company=v["normalized_company"],
                    contact_name=v.get("contact_name", ""),
                    title=v.get("title", ""),
                    phone=v.get("phone", ""),
                    email=v.get("email", ""),
                    channel_id=v.get("channel_id"),
                    industry=v.get("industry", ""),
                    employee_band=v.get("employee_band", ""),
                    province=v.get("province", ""),
                    city=v.get("city", ""),
                    needs=v.get("needs", ""),
                    interaction_count=v.get("interaction_count", 0),
                    decision_maker_reached=v.get("decision_maker_reached", False),
                    owner_id=v.get("owner_id"),
                    team_id=v.get("team_id"),
                    status=LeadStatus.NEW,
                    pool_reason="" if v.get("owner_id") else PoolReason.NEW,
                    assigned_at=now if v.get("owner_id") else None,
                    created_by=user,
                    created_at=now,
                )
                lead.score, lead.intent, lead.score_breakdown = compute_score(
                    policy,
                    interaction_count=lead.interaction_count,
                    employee_band=lead.employee_band,
                    decision_maker_reached=lead.decision_maker_reached,
                    channel_quality=quality.get(lead.channel_id),
                )
                leads.append(lead)
            bulk_create_with_history(
                leads, Lead, batch_size=CHUNK, default_user=user, default_change_reason=f"import #{job.pk}"
            )
            created += len(leads)
            progress(created)
        return {"leads": created}
