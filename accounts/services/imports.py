"""Excel/CSV import: a generic, reusable engine plus the customer-archive spec that uses it.

The engine knows nothing about customers. An `ImportSpec` lists its `Column`s (header aliases in
Chinese and English, a parser per cell), checks that need the whole file or the database
(`check`, set-based: one query per chunk of values, never one per row) and builds the objects
(`write`). The lead pool imports leads with another spec and the same preview/apply rules.

The flow, shared by every spec:

1. ``start_import`` stores the upload as an `ImportJob`. Files up to ``SYNC_VALIDATE_MAX_BYTES``
   are parsed and validated in the request (a few thousand rows take well under a second);
   larger files are validated by the ``accounts.tasks.validate_import`` Celery task, so a
   50,000-row upload never holds a request open. Validation writes nothing but the job's report.
2. The preview shows every error (row number, column, message) and a sample of valid rows.
3. ``queue_apply`` claims the job with a conditional UPDATE (PREVIEWED → QUEUED, only when it has
   zero errors) and enqueues ``accounts.tasks.apply_import`` after commit, passing the id only.
4. ``apply_import`` claims QUEUED → RUNNING (a second run finds nothing to claim and does
   nothing), re-reads and re-validates the file, then writes everything in one transaction with
   chunked ``bulk_create``: any error means nothing is written and the job is FAILED with its report.

Progress (``processed_rows``) is committed while rows are checked; while rows are written inside
the one transaction it is reported through a second database connection where the database
allows a concurrent writer (PostgreSQL), and lands with the commit on SQLite.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pandas as pd
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import File
from django.core.validators import EmailValidator, URLValidator
from django.db import connection, connections, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history

from crm.access import is_admin, managed_team_ids
from crm.models import Profile

from ..models import (
    BusinessModel,
    Contact,
    ContactRole,
    Customer,
    CustomerType,
    EmployeeBand,
    ImportJob,
    Industry,
    SourceChannel,
    Stage,
    Status,
    Tag,
)
from ..validators import validate_credit_code, validate_phone
from .customers import COMPLETENESS_FIELDS, completeness_of, normalize_credit_code, normalize_name

SYNC_VALIDATE_MAX_BYTES = 512 * 1024  # about 3,000 customer rows; larger files validate in a task
# Files that are certainly not CSV text, whatever their name: zip/xlsx, PDF, programs.
BINARY_SIGNATURES = (b"PK\x03\x04", b"%PDF", b"MZ", b"\x7fELF", b"\xd0\xcf\x11\xe0")
MAX_STORED_ERRORS = 500  # the report keeps the first errors; error_count counts every bad row
SAMPLE_ROWS = 10
CHUNK = 1000  # rows per bulk_create and per progress update
LOOKUP_CHUNK = 900  # values per IN (...) lookup
ALLOWED_EXTENSIONS = (".xlsx", ".csv")


class ImportFileError(Exception):
    """The file as a whole cannot be read (format, encoding, missing required columns)."""


# --- the generic engine -------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One importable column: `key` in the built row, headers in Chinese and English."""

    key: str
    zh: str
    en: str
    parse: Callable[[str], Any] = lambda value: value
    required: bool = False
    aliases: tuple[str, ...] = ()
    example_zh: str = ""
    example_en: str = ""

    def headers(self) -> set[str]:
        return {_header_key(h) for h in (self.key, self.zh, self.en, *self.aliases)}


@dataclass
class ParsedRow:
    number: int  # the row number people see in Excel (the header is row 1)
    values: dict[str, Any]
    raw: dict[str, str]


@dataclass
class Validation:
    """What a check of the whole file found; `rows` are the valid ones, ready for `write`."""

    total: int = 0
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    bad_rows: set[int] = field(default_factory=set)
    headers: dict[str, str] = field(default_factory=dict)  # key → header as written in the file
    ignored_headers: list[str] = field(default_factory=list)
    context: dict = field(default_factory=dict)  # what the spec looked up, reused by `write`

    def add_error(self, row: int, key: str | None, message) -> None:
        self.bad_rows.add(row)
        self.errors.append({"row": row, "column": self.headers.get(key, key or ""), "message": str(message)})

    def report(self, spec: ImportSpec) -> dict:
        errors = sorted(self.errors, key=lambda e: e["row"])
        valid = [r for r in self.rows if r.number not in self.bad_rows]
        keys = [c.key for c in spec.columns if c.key in self.headers]
        return {
            "errors": errors[:MAX_STORED_ERRORS],
            "errors_truncated": len(errors) > MAX_STORED_ERRORS,
            "error_total": len(errors),
            "valid_rows": len(valid),
            "columns": [self.headers[k] for k in keys],
            "sample": [[r.raw.get(k, "") for k in keys] for r in valid[:SAMPLE_ROWS]],
            "ignored_headers": self.ignored_headers,
        }


class ImportSpec:
    """Subclass per kind of record. `check` and `write` see all rows at once (set-based)."""

    kind: str = ""
    columns: tuple[Column, ...] = ()
    template_name: str = "import"

    def check(self, validation: Validation, *, user) -> None:
        """Cross-row and database checks; add errors to `validation`. Must not write."""

    def write(self, rows: list[ParsedRow], context: dict, *, user, job: ImportJob, progress) -> dict[str, int]:
        """Create the records (inside the caller's transaction); returns counts per kind."""
        raise NotImplementedError


def _header_key(text) -> str:
    return re.sub(r"[\s_()（）:：*]+", "", str(text or "")).lower()


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def read_table(fileobj, name: str) -> Iterator[list[str]]:
    """Rows of cells as text (header first) from .xlsx (openpyxl read-only) or CSV (UTF-8/BOM or GBK)."""
    lower = (name or "").lower()
    fileobj.seek(0)
    if lower.endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(fileobj, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises several types for a broken or foreign file
            raise ImportFileError(_("This file is not a readable Excel (.xlsx) workbook.")) from exc
        try:
            for row in workbook.worksheets[0].iter_rows(values_only=True):
                yield [_cell(v) for v in row]
        finally:
            workbook.close()
        return
    if lower.endswith(".csv"):
        data = fileobj.read()
        if data.startswith(BINARY_SIGNATURES) or b"\0" in data[:8192]:  # judged by content, not name
            raise ImportFileError(_("This file is not a CSV text file."))
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ImportFileError(_("The CSV file is neither UTF-8 nor GBK encoded."))
        for row in csv.reader(io.StringIO(text, newline="")):
            yield [cell.strip() for cell in row]
        return
    raise ImportFileError(_("Upload an Excel (.xlsx) or CSV file."))


def validate_file(spec: ImportSpec, fileobj, name: str, *, user, on_progress=None) -> Validation:
    """Parse and check every row of the file. Writes nothing."""
    rows = read_table(fileobj, name)
    header = next(rows, None)
    if not header or not any(header):
        raise ImportFileError(_("The file is empty."))
    by_header = {h: c for c in spec.columns for h in c.headers()}
    positions: dict[int, Column] = {}
    validation = Validation()
    for index, text in enumerate(header):
        column = by_header.get(_header_key(text))
        if column and column.key not in validation.headers:
            positions[index] = column
            validation.headers[column.key] = text
        elif text:
            validation.ignored_headers.append(text)
    missing = [c for c in spec.columns if c.required and c.key not in validation.headers]
    if missing:
        names = ", ".join(f"{c.zh} / {c.en}" for c in missing)
        raise ImportFileError(_("Required column missing: %(names)s.") % {"names": names})

    for offset, cells in enumerate(rows):
        if not any(cells):
            continue
        number = offset + 2
        validation.total += 1
        values, raw = {}, {}
        for index, column in positions.items():
            text = cells[index] if index < len(cells) else ""
            raw[column.key] = text
            if not text:
                if column.required:
                    validation.add_error(number, column.key, _("This value is required."))
                values[column.key] = None
                continue
            try:
                values[column.key] = column.parse(text)
            except ValidationError as exc:
                validation.add_error(number, column.key, " ".join(str(m) for m in exc.messages))
        validation.rows.append(ParsedRow(number=number, values=values, raw=raw))
        if on_progress and validation.total % CHUNK == 0:
            on_progress(validation.total)
    if validation.total == 0:
        raise ImportFileError(_("The file has a header but no data rows."))
    spec.check(validation, user=user)
    return validation


def chunked(items: list, size: int = LOOKUP_CHUNK) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- parsers shared by specs --------------------------------------------------------------


def parse_text(max_length: int) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if len(value) > max_length:
            raise ValidationError(_("At most %(n)d characters.") % {"n": max_length})
        return value

    return parse


def parse_choice(choices, extra: dict[str, str]) -> Callable[[str], str]:
    """Accept the code, the English label or a Chinese label (from `extra`) of a choice."""
    lookup = {_header_key(code): code for code in choices.values}
    with translation.override("en"):
        lookup |= {_header_key(str(label)): code for code, label in choices.choices}
    lookup |= {_header_key(k): v for k, v in extra.items()}

    def parse(value: str) -> str:
        try:
            return lookup[_header_key(value)]
        except KeyError:
            raise ValidationError(_("Unknown value “%(value)s”.") % {"value": value}) from None

    return parse


def parse_decimal(value: str) -> Decimal:
    cleaned = value.replace(",", "").replace("，", "").replace("¥", "").replace("元", "").strip()
    multiplier = Decimal(10000) if cleaned.endswith("万") else Decimal(1)
    try:
        amount = Decimal(cleaned.rstrip("万")) * multiplier
    except InvalidOperation:
        raise ValidationError(_("Enter a number, e.g. 500000 or 50万.")) from None
    if amount < 0 or amount >= Decimal("1e12"):
        raise ValidationError(_("Enter a number, e.g. 500000 or 50万."))
    return amount.quantize(Decimal("0.01"))


def parse_date(value: str) -> date:
    text = value.strip().split(" ")[0].replace("/", "-").replace(".", "-")
    text = re.sub(r"(\d{4})年(\d{1,2})月(\d{1,2})日?", r"\1-\2-\3", text)
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()  # noqa: DTZ007 - a calendar date, no time
    except ValueError:
        raise ValidationError(_("Enter a date such as 2020-05-31.")) from None


def parse_credit_code(value: str) -> str:
    code = normalize_credit_code(value)
    validate_credit_code(code)
    return code


def parse_phone(value: str) -> str:
    validate_phone(value)
    return value


def parse_email(value: str) -> str:
    EmailValidator(message=_("Enter a valid email address."))(value)
    return value.lower()


def parse_url(value: str) -> str:
    url = value if "://" in value else f"https://{value}"
    URLValidator(message=_("Enter a valid web address."))(url)
    return url


def parse_tags(value: str) -> list[str]:
    names = [t.strip() for t in re.split(r"[,，、;；]", value) if t.strip()]
    if any(len(n) > 40 for n in names):
        raise ValidationError(_("A tag has at most 40 characters."))
    return list(dict.fromkeys(names))


# --- the customer spec --------------------------------------------------------------------

INDUSTRY_ZH = {
    "制造业": Industry.MANUFACTURING,
    "制造": Industry.MANUFACTURING,
    "IT": Industry.IT,
    "软件": Industry.IT,
    "IT与软件": Industry.IT,
    "信息技术": Industry.IT,
    "互联网": Industry.INTERNET,
    "金融": Industry.FINANCE,
    "金融保险": Industry.FINANCE,
    "金融与保险": Industry.FINANCE,
    "零售": Industry.RETAIL,
    "零售与消费品": Industry.RETAIL,
    "消费品": Industry.RETAIL,
    "医疗": Industry.HEALTHCARE,
    "医疗医药": Industry.HEALTHCARE,
    "医疗与医药": Industry.HEALTHCARE,
    "教育": Industry.EDUCATION,
    "能源": Industry.ENERGY,
    "能源与公用事业": Industry.ENERGY,
    "建筑": Industry.CONSTRUCTION,
    "建筑与房地产": Industry.CONSTRUCTION,
    "房地产": Industry.CONSTRUCTION,
    "物流": Industry.LOGISTICS,
    "物流与运输": Industry.LOGISTICS,
    "政府": Industry.GOVERNMENT,
    "政府与公共事业": Industry.GOVERNMENT,
    "其他": Industry.OTHER,
}
BAND_ZH = {
    "1-49人": EmployeeBand.MICRO,
    "50-199人": EmployeeBand.SMALL,
    "200-999人": EmployeeBand.MEDIUM,
    "1000-4999人": EmployeeBand.LARGE,
    "5000人以上": EmployeeBand.HUGE,
    "5000+人": EmployeeBand.HUGE,
}
CHANNEL_ZH = {
    "官网": SourceChannel.WEBSITE,
    "展会": SourceChannel.EXHIBITION,
    "老客户推荐": SourceChannel.REFERRAL,
    "客户推荐": SourceChannel.REFERRAL,
    "搜索引擎": SourceChannel.SEARCH,
    "合作伙伴": SourceChannel.PARTNER,
    "社交媒体": SourceChannel.SOCIAL,
    "电话外呼": SourceChannel.COLD_CALL,
    "其他": SourceChannel.OTHER,
}
TYPE_ZH = {
    "终端客户": CustomerType.END_CUSTOMER,
    "经销商": CustomerType.DISTRIBUTOR,
    "代理商": CustomerType.DISTRIBUTOR,
    "渠道商": CustomerType.DISTRIBUTOR,
    "合作伙伴": CustomerType.PARTNER,
}
STAGE_ZH = {
    "潜在": Stage.PROSPECT,
    "潜在客户": Stage.PROSPECT,
    "意向": Stage.INTENT,
    "意向客户": Stage.INTENT,
    "谈判": Stage.NEGOTIATION,
    "商务谈判": Stage.NEGOTIATION,
    "成交": Stage.WON,
    "成交客户": Stage.WON,
    "流失": Stage.CHURNED,
    "流失客户": Stage.CHURNED,
}
STATUS_ZH = {"活跃": Status.ACTIVE, "正常": Status.ACTIVE, "休眠": Status.DORMANT, "黑名单": Status.BLACKLISTED}
MODEL_ZH = {
    "ToB": BusinessModel.TOB,
    "ToC": BusinessModel.TOC,
    "ToB和ToC": BusinessModel.BOTH,
    "两者": BusinessModel.BOTH,
}
ROLE_ZH = {
    "决策者": ContactRole.DECISION_MAKER,
    "决策人": ContactRole.DECISION_MAKER,
    "使用者": ContactRole.USER,
    "用户": ContactRole.USER,
    "影响者": ContactRole.INFLUENCER,
    "影响人": ContactRole.INFLUENCER,
    "采购": ContactRole.PURCHASER,
    "采购者": ContactRole.PURCHASER,
    "采购人": ContactRole.PURCHASER,
}

CONTACT_FIELDS = {"contact_name": "name", "contact_title": "title", "contact_role": "role", "phone": "phone"}
CONTACT_FIELDS |= {"email": "email", "wechat": "wechat"}


# Columns the customer and lead imports share (one definition, so their headers stay the same).
INDUSTRY_COLUMN = Column(
    "industry",
    "行业",
    "Industry",
    parse_choice(Industry, INDUSTRY_ZH),
    example_zh="制造业",
    example_en="Manufacturing",
)
EMPLOYEE_BAND_COLUMN = Column(
    "employee_band",
    "人员规模",
    "Employees",
    parse_choice(EmployeeBand, BAND_ZH),
    aliases=("规模", "employee band"),
    example_zh="200-999",
    example_en="200-999",
)


class CustomerImportSpec(ImportSpec):
    """One row = one customer with (optionally) one contact. Blank owner = the importer."""

    kind = "customers"
    template_name = "customers"
    columns = (
        Column(
            "name",
            "客户名称",
            "Name",
            parse_text(200),
            True,
            ("客户", "公司名称", "customer", "company"),
            "上海星辰科技有限公司",
            "Shanghai Star Tech Co., Ltd.",
        ),
        Column(
            "credit_code",
            "统一社会信用代码",
            "Credit code",
            parse_credit_code,
            aliases=("信用代码", "unified social credit code"),
            example_zh="91310000MA1K4CJ35X",
            example_en="91310000MA1K4CJ35X",
        ),
        Column(
            "customer_type",
            "客户类型",
            "Customer type",
            parse_choice(CustomerType, TYPE_ZH),
            example_zh="终端客户",
            example_en="End customer",
        ),
        INDUSTRY_COLUMN,
        EMPLOYEE_BAND_COLUMN,
        Column(
            "annual_revenue",
            "年营业额",
            "Annual revenue",
            parse_decimal,
            aliases=("年营收",),
            example_zh="5000万",
            example_en="50000000",
        ),
        Column(
            "province", "省份", "Province", parse_text(20), aliases=("省",), example_zh="上海", example_en="Shanghai"
        ),
        Column("city", "城市", "City", parse_text(40), aliases=("市",), example_zh="上海", example_en="Shanghai"),
        Column("founded", "成立日期", "Founded", parse_date, example_zh="2015-06-01", example_en="2015-06-01"),
        Column(
            "business_model",
            "经营模式",
            "Business model",
            parse_choice(BusinessModel, MODEL_ZH),
            example_zh="ToB",
            example_en="ToB",
        ),
        Column(
            "website",
            "网站",
            "Website",
            parse_url,
            aliases=("官网",),
            example_zh="www.example.com",
            example_en="www.example.com",
        ),
        Column(
            "source_channel",
            "来源渠道",
            "Source channel",
            parse_choice(SourceChannel, CHANNEL_ZH),
            aliases=("来源", "channel", "source"),
            example_zh="展会",
            example_en="Exhibition",
        ),
        Column(
            "needs",
            "核心需求",
            "Needs",
            aliases=("需求", "痛点", "core needs"),
            example_zh="降低库存成本",
            example_en="Lower inventory cost",
        ),
        Column(
            "development_plans",
            "发展规划",
            "Development plans",
            example_zh="计划在华南建厂",
            example_en="New plant in the south",
        ),
        Column("budget", "预算", "Budget", parse_decimal, example_zh="50万", example_en="500000"),
        Column(
            "stage",
            "阶段",
            "Stage",
            parse_choice(Stage, STAGE_ZH),
            aliases=("生命周期阶段", "lifecycle stage"),
            example_zh="意向",
            example_en="Intent",
        ),
        Column("status", "状态", "Status", parse_choice(Status, STATUS_ZH), example_zh="活跃", example_en="Active"),
        Column(
            "next_step", "下一步", "Next step", parse_text(200), example_zh="安排产品演示", example_en="Arrange a demo"
        ),
        Column(
            "owner",
            "负责人(用户名)",
            "Owner",
            parse_text(150),
            aliases=("负责人", "owner username", "username"),
            example_zh="",
            example_en="",
        ),
        Column("tags", "标签", "Tags", parse_tags, example_zh="重点客户,华东", example_en="key account, east"),
        Column(
            "contact_name",
            "联系人",
            "Contact",
            parse_text(60),
            aliases=("联系人姓名", "contact name"),
            example_zh="张伟",
            example_en="Zhang Wei",
        ),
        Column(
            "contact_title",
            "职务",
            "Title",
            parse_text(60),
            aliases=("职位", "contact title"),
            example_zh="采购经理",
            example_en="Purchasing manager",
        ),
        Column(
            "contact_role",
            "联系人角色",
            "Contact role",
            parse_choice(ContactRole, ROLE_ZH),
            aliases=("角色", "role"),
            example_zh="决策者",
            example_en="Decision-maker",
        ),
        Column(
            "phone",
            "手机",
            "Phone",
            parse_phone,
            aliases=("电话", "联系电话", "手机号", "mobile"),
            example_zh="13812345678",
            example_en="13812345678",
        ),
        Column(
            "email",
            "邮箱",
            "Email",
            parse_email,
            aliases=("电子邮箱", "e-mail"),
            example_zh="zhangwei@example.com",
            example_en="zhangwei@example.com",
        ),
        Column("wechat", "微信", "WeChat", parse_text(60), example_zh="zhangwei_sh", example_en="zhangwei_sh"),
    )

    def check(self, validation: Validation, *, user) -> None:
        rows = validation.rows
        self._check_duplicates(validation, rows)
        self._check_owners(validation, rows, user)
        for row in rows:
            v = row.values
            has_contact = any(v.get(k) for k in CONTACT_FIELDS if k != "contact_name")
            if has_contact and not v.get("contact_name"):
                validation.add_error(row.number, "contact_name", _("Contact details need the contact's name."))

    def _check_duplicates(self, validation: Validation, rows: list[ParsedRow]) -> None:
        seen_codes: dict[str, int] = {}
        seen_names: dict[str, int] = {}
        for row in rows:
            code, name = row.values.get("credit_code"), row.values.get("name")
            row.values["normalized_name"] = normalize_name(name) if name else ""
            if code:
                if code in seen_codes:
                    message = _("Same credit code as row %(row)d of this file.") % {"row": seen_codes[code]}
                    validation.add_error(row.number, "credit_code", message)
                seen_codes.setdefault(code, row.number)
            normalized = row.values["normalized_name"]
            if normalized:
                if normalized in seen_names:
                    message = _("Same name as row %(row)d of this file.") % {"row": seen_names[normalized]}
                    validation.add_error(row.number, "name", message)
                seen_names.setdefault(normalized, row.number)
        # Against the archive, set-based. Every stored credit code counts (it is unique in the
        # database); names count only on records that were not merged away.
        existing_codes: dict[str, str] = {}
        for chunk in chunked(list(seen_codes)):
            existing_codes |= dict(Customer.objects.filter(credit_code__in=chunk).values_list("credit_code", "name"))
        existing_names: dict[str, str] = {}
        for chunk in chunked(list(seen_names)):
            qs = Customer.objects.filter(normalized_name__in=chunk, merged_into__isnull=True)
            existing_names |= dict(qs.values_list("normalized_name", "name"))
        for row in rows:
            code, normalized = row.values.get("credit_code"), row.values["normalized_name"]
            if code and code in existing_codes:
                message = _("A customer with this credit code already exists: %(name)s.")
                validation.add_error(row.number, "credit_code", message % {"name": existing_codes[code]})
            elif normalized and normalized in existing_names:
                message = _("A customer with this name already exists: %(name)s.")
                validation.add_error(row.number, "name", message % {"name": existing_names[normalized]})

    def _check_owners(self, validation: Validation, rows: list[ParsedRow], user) -> None:
        usernames = sorted({row.values["owner"] for row in rows if row.values.get("owner")})
        users: dict[str, tuple[int, int | None]] = {}
        User = get_user_model()
        for chunk in chunked(usernames):
            found = User.objects.filter(username__in=chunk, is_active=True).values_list(
                "username", "pk", "profile__team"
            )
            users |= {username: (pk, team) for username, pk, team in found}
        own_team = Profile.objects.filter(user=user).values_list("team", flat=True).first()
        users.setdefault("", (user.pk, own_team))  # a blank owner is the importer
        allowed_teams = set(managed_team_ids(user))
        admin = is_admin(user)
        for row in rows:
            username = row.values.get("owner") or ""
            if username not in users:
                message = _("Unknown or inactive user “%(name)s”.") % {"name": username}
                validation.add_error(row.number, "owner", message)
                continue
            pk, team = users[username]
            if not (admin or pk == user.pk or (team is not None and team in allowed_teams)):
                message = _("You may not assign customers to “%(name)s” (not in a team you manage).")
                validation.add_error(row.number, "owner", message % {"name": username})
                continue
            row.values["owner_id"], row.values["team_id"] = pk, team

    def write(self, rows: list[ParsedRow], context: dict, *, user, job: ImportJob, progress) -> dict[str, int]:
        reason = f"import #{job.pk}"
        now = timezone.now()
        tag_ids = _ensure_tags({name for row in rows for name in (row.values.get("tags") or [])})
        counts = {"customers": 0, "contacts": 0, "tags": 0}
        for chunk in chunked(rows, CHUNK):
            customers = []
            for row in chunk:
                v = row.values
                data = {k: v[k] for k in CUSTOMER_FIELDS if v.get(k) is not None}
                customer = Customer(
                    **data,
                    normalized_name=v["normalized_name"],
                    owner_id=v["owner_id"],
                    team_id=v["team_id"],
                    created_by=user,
                    created_at=now,
                )
                customer.completeness = _completeness(customer, v)
                customers.append(customer)
            customers = bulk_create_with_history(
                customers, Customer, batch_size=CHUNK, default_user=user, default_change_reason=reason
            )
            contacts, links = [], []
            for row, customer in zip(chunk, customers, strict=True):
                v = row.values
                if v.get("contact_name"):
                    data = {field: v[key] for key, field in CONTACT_FIELDS.items() if v.get(key) is not None}
                    contacts.append(Contact(customer_id=customer.pk, is_primary=True, **data))
                links += [
                    Customer.tags.through(customer_id=customer.pk, tag_id=tag_ids[n]) for n in v.get("tags") or []
                ]
            bulk_create_with_history(
                contacts, Contact, batch_size=CHUNK, default_user=user, default_change_reason=reason
            )
            Customer.tags.through.objects.bulk_create(links, batch_size=CHUNK)
            counts["customers"] += len(customers)
            counts["contacts"] += len(contacts)
            counts["tags"] += len(links)
            progress(counts["customers"])
        return counts


def _completeness(customer: Customer, values: dict) -> int:
    """The stored score, computed by the archive's own `completeness_of` from the values at hand.

    Same result as `refresh_completeness(new_ids)` (a test holds them equal) without re-reading and
    bulk-updating every new row: on 50,000 rows that pass alone took ~20 s on SQLite.
    """
    facts = {key: getattr(customer, key, None) for key in COMPLETENESS_FIELDS}
    facts["has_contact_phone"] = bool(values.get("contact_name") and values.get("phone"))
    facts["has_decision_maker"] = bool(values.get("contact_name") and values.get("contact_role") == "decision_maker")
    return completeness_of(facts)[0]


# Columns stored as they are on Customer (owner and tags are resolved separately).
CUSTOMER_FIELDS = tuple(
    c.key
    for c in CustomerImportSpec.columns
    if c.key not in ("owner", "tags") and c.key in {f.name for f in Customer._meta.concrete_fields}
)


def _ensure_tags(names: set[str]) -> dict[str, int]:
    """Tag ids by name, creating the missing tags in bulk."""
    names = sorted(names)
    found: dict[str, int] = {}
    for chunk in chunked(names):
        found |= dict(Tag.objects.filter(name__in=chunk).values_list("name", "pk"))
    missing = [Tag(name=n) for n in names if n not in found]
    if missing:
        Tag.objects.bulk_create(missing, batch_size=CHUNK, ignore_conflicts=True)
        for chunk in chunked([t.name for t in missing]):
            found |= dict(Tag.objects.filter(name__in=chunk).values_list("name", "pk"))
    return found


SPECS: dict[str, ImportSpec] = {}


def register_spec(spec: ImportSpec) -> ImportSpec:
    """Other apps (the lead pool) register their spec here, so the same pages and task serve it."""
    SPECS[spec.kind] = spec
    return spec


register_spec(CustomerImportSpec())


# --- template -----------------------------------------------------------------------------


def build_template(spec: ImportSpec, *, language: str | None = None) -> bytes:
    """An .xlsx with the spec's headers (Chinese, or English for an English UI) and one example row."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill

    english = (language or translation.get_language() or "").startswith("en")
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "data" if english else "数据"
    sheet.append([c.en if english else c.zh for c in spec.columns])
    sheet.append([c.example_en if english else c.example_zh for c in spec.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0D6EFD")
    for index, column in enumerate(spec.columns, start=1):
        width = max(len(column.en if english else column.zh) * (1 if english else 2), 12) + 2
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = width
    sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- jobs ---------------------------------------------------------------------------------


def can_import(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm("crm.import_data")


def visible_jobs(user):
    """Import jobs a user may open: their own; admins see all."""
    qs = ImportJob.objects.select_related("created_by")
    return qs if is_admin(user) else qs.filter(created_by=user)


def _validate_job(job: ImportJob, spec: ImportSpec, *, on_progress=None) -> Validation:
    with job.file.open("rb") as fileobj:
        return validate_file(spec, fileobj, job.original_name, user=job.created_by, on_progress=on_progress)


def _store_validation(job: ImportJob, spec: ImportSpec, validation: Validation, *, state: str) -> None:
    job.total_rows = validation.total
    job.error_count = len(validation.bad_rows)
    job.report = {**validation.report(spec), "language": (job.report or {}).get("language")}
    job.state = state
    job.save(update_fields=["total_rows", "error_count", "report", "state"])


def _fail(job: ImportJob, message: str, **extra) -> None:
    job.state = ImportJob.State.FAILED
    job.report = {**(job.report or {}), **extra, "file_error": message}
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "report", "finished_at"])


def start_import(*, user, upload: File, kind: str = "customers") -> ImportJob:
    """Store the upload; validate now when small, else hand validation to a task (see module doc)."""
    if not can_import(user):
        raise PermissionDenied
    if kind not in SPECS:
        raise ValueError(kind)
    name = upload.name or "import"
    if not name.lower().endswith(ALLOWED_EXTENSIONS):
        raise ImportFileError(_("Upload an Excel (.xlsx) or CSV file."))
    job = ImportJob.objects.create(
        kind=kind,
        file=upload,
        original_name=name[:200],
        created_by=user,
        report={"language": translation.get_language()},
    )
    if upload.size <= SYNC_VALIDATE_MAX_BYTES:
        validate_job(job.pk)
        job.refresh_from_db()
    else:
        from ..tasks import validate_import

        job.state = ImportJob.State.RUNNING
        job.report = {**job.report, "phase": "checking"}
        job.save(update_fields=["state", "report"])
        transaction.on_commit(lambda: validate_import.delay(job.pk))
    return job


def validate_job(job_id: int) -> None:
    """Parse and check a stored upload; the job ends PREVIEWED (with its report) or FAILED."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.state not in (ImportJob.State.PREVIEWED, ImportJob.State.RUNNING) or job.total_rows:
        return  # already validated (a re-delivered task) or already applied
    spec = SPECS[job.kind]
    try:
        with translation.override(_job_language(job)):
            validation = _validate_job(job, spec, on_progress=_progress_saver(job.pk))
    except ImportFileError as exc:
        _fail(job, str(exc))
        return
    _store_validation(job, spec, validation, state=ImportJob.State.PREVIEWED)


def queue_apply(*, job: ImportJob, user) -> bool:
    """Claim a clean previewed job (PREVIEWED → QUEUED) and enqueue the apply task after commit."""
    if not can_import(user):
        raise PermissionDenied
    claimed = ImportJob.objects.filter(pk=job.pk, state=ImportJob.State.PREVIEWED, error_count=0).update(
        state=ImportJob.State.QUEUED, processed_rows=0
    )
    if claimed:
        from ..tasks import apply_import

        transaction.on_commit(lambda: apply_import.delay(job.pk))
    return bool(claimed)


def apply_job(job_id: int) -> bool:
    """Write a queued job all-or-nothing; True when it wrote. A second call does nothing."""
    if not ImportJob.objects.filter(pk=job_id, state=ImportJob.State.QUEUED).update(
        state=ImportJob.State.RUNNING, report=_merged_report(job_id, phase="checking")
    ):
        return False
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    spec = SPECS[job.kind]
    user = job.created_by
    with translation.override(_job_language(job)):
        try:
            if not can_import(user):
                raise ImportFileError(_("You no longer have the permission to import."))
            validation = _validate_job(job, spec, on_progress=_progress_saver(job.pk))
        except ImportFileError as exc:
            _fail(job, str(exc))
            return False
        if validation.bad_rows:
            _store_validation(job, spec, validation, state=ImportJob.State.FAILED)
            ImportJob.objects.filter(pk=job.pk).update(finished_at=timezone.now())
            return False
        report = {**validation.report(spec), "language": job.report.get("language")}
        ImportJob.objects.filter(pk=job.pk).update(processed_rows=0, report={**report, "phase": "writing"})
        with _SideChannelProgress(job.pk) as progress:
            try:
                with transaction.atomic():
                    counts = spec.write(validation.rows, validation.context, user=user, job=job, progress=progress)
            except Exception as exc:  # nothing was written: record why, then let Celery log it
                _fail(job, _("The import failed and nothing was written: %(error)s") % {"error": exc}, **report)
                raise
    ImportJob.objects.filter(pk=job.pk).update(
        state=ImportJob.State.DONE,
        processed_rows=validation.total,
        report={**report, "phase": "done", "applied": True, "created": counts},
        finished_at=timezone.now(),
    )
    return True


def _merged_report(job_id: int, **extra) -> dict:
    report = ImportJob.objects.filter(pk=job_id).values_list("report", flat=True).first() or {}
    return {**report, **extra}


def _job_language(job: ImportJob) -> str:
    return (job.report or {}).get("language") or translation.get_language() or "zh-hans"


def _progress_saver(job_id: int) -> Callable[[int], None]:
    def save(n: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=n)

    return save


class _SideChannelProgress:
    """Report progress from inside a transaction through a second connection (not on SQLite,
    whose single writer lock the open transaction holds: there progress lands with the commit)."""

    def __init__(self, job_id: int):
        self.job_id = job_id
        self.conn = None

    def __enter__(self) -> Callable[[int], None]:
        if connection.vendor != "sqlite":
            self.conn = connections.create_connection("default")
        return self

    def __call__(self, n: int) -> None:
        if self.conn is None:
            return
        table = ImportJob._meta.db_table
        with self.conn.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET processed_rows = %s WHERE id = %s", [n, self.job_id])  # noqa: S608

    def __exit__(self, *exc) -> None:
        if self.conn is not None:
            self.conn.close()


def iter_errors(job: ImportJob) -> Iterable[dict]:
    return (job.report or {}).get("errors", [])
