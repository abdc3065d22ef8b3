"""Thin views of receivables: check access, parse, call a selector or service, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Customer, Status
from accounts.selectors import visible_customers
from crm.access import can_export, can_view_amounts, get_visible_or_404, has_role, is_admin
from crm.audit import record_export
from crm.exports import export_response
from crm.roles import Role

from . import selectors, services
from .forms import ContractForm, InstallmentFormSet, LiftForm, PaymentForm, PolicyFormSet, RatingForm
from .models import ZERO, ContractStatus, CreditRating, Notice, NoticeKind, Payment, PaymentTermPolicy

BUCKET_LABELS = {
    "current": _("Current"),
    "d1_30": _("1–30 days"),
    "d31_60": _("31–60 days"),
    "d61_90": _("61–90 days"),
    "d90_plus": _("> 90 days"),
}


def _require_finance(user):
    if not services.is_finance(user):
        raise PermissionDenied


def _require_report_reader(user):
    if not (is_admin(user) or has_role(user, Role.FINANCE, Role.MANAGER)) or not can_view_amounts(user):
        raise PermissionDenied


AGING_ROWS = 200  # rows of the aging table on the page


def _bucket_labels():
    return [(key, str(BUCKET_LABELS[key])) for key in selectors.BUCKETS]


@login_required
def dashboard(request):
    """Aging report (by customer, rep or team), DSO and collection rate; finance, managers, admins."""
    _require_report_reader(request.user)
    user, today = request.user, timezone.localdate()
    by = request.GET.get("by") if request.GET.get("by") in selectors.GROUPS else "customer"
    fmt = request.GET.get("export")
    # The page lists the largest AGING_ROWS (one more tells that there are more); the export has all.
    rows = selectors.aging(user, by=by, today=today, limit=None if fmt else AGING_ROWS + 1)
    if fmt:
        if not can_export(user):
            raise PermissionDenied
        if fmt not in ("csv", "xlsx"):
            fmt = "xlsx"
        headers = [_("Name"), *(label for _key, label in _bucket_labels()), _("Total")]
        data = [[r["name"], *(r[k] for k in selectors.BUCKETS), r["total"]] for r in rows]
        record_export(request, what="receivables.aging", fmt=fmt)
        return export_response(headers=headers, rows=data, fmt=fmt, basename="aging")
    totals = selectors.aging_totals(user, today=today)
    rates = selectors.collection_rates(user, end=today, days=[30, 90])
    chart = {
        "names": [label for _key, label in _bucket_labels()],
        "values": [float(totals[k] or 0) for k in selectors.BUCKETS],
    }
    context = {
        "by": by,
        "rows": rows[:AGING_ROWS],
        "more_rows": len(rows) > AGING_ROWS,
        "aging_rows": AGING_ROWS,
        "rep_rows": selectors.aging(user, by="rep", today=today) if by != "rep" else None,
        "totals": totals,
        "buckets": _bucket_labels(),
        "chart": chart,
        "dso": selectors.dso(user, today=today, outstanding=totals["total"] or ZERO),
        "rate_30": rates[30],
        "rate_90": rates[90],
        "can_export": can_export(user),
        "is_finance": services.is_finance(user),
        "pending_count": selectors.visible_contracts(user).filter(status=ContractStatus.PENDING).count(),
    }
    return render(request, "receivables/dashboard.html", context)


@login_required
def overdue(request):
    user = request.user
    items = selectors.overdue_installments(user)
    show = can_view_amounts(user)
    today = timezone.localdate()
    fmt = request.GET.get("export")
    if fmt:
        if not can_export(user):
            raise PermissionDenied
        headers = [_("Customer"), _("Contract"), _("Due on"), _("Days overdue"), _("Owner")]
        if show:
            headers.append(_("Outstanding"))
        data = []
        for i in items[:5000]:
            row = [i.contract.customer.name, i.contract.title, i.due_on, (today - i.due_on).days, str(i.contract.owner)]
            if show:
                row.append(i.outstanding_amount)
            data.append(row)
        record_export(request, what="receivables.overdue", fmt=fmt)
        return export_response(
            headers=headers, rows=data, fmt=fmt if fmt in ("csv", "xlsx") else "xlsx", basename="overdue"
        )
    rows = [{"item": i, "days": (today - i.due_on).days} for i in items[:500]]
    return render(
        request,
        "receivables/overdue.html",
        {"rows": rows, "show_amounts": show, "can_export": can_export(user)},
    )


@login_required
def contract_list(request):
    user = request.user
    contracts = selectors.visible_contracts(user)
    customer_id = request.GET.get("customer")
    customer = None
    if customer_id and customer_id.isdigit():
        customer = get_visible_or_404(visible_customers(user), pk=int(customer_id))
        contracts = contracts.filter(customer=customer)
    status = request.GET.get("status")
    if status in ContractStatus.values:
        contracts = contracts.filter(status=status)
    return render(
        request,
        "receivables/contract_list.html",
        {
            "contracts": contracts[:300],
            "customer": customer,
            "status": status or "",
            "statuses": ContractStatus.choices,
            "show_amounts": can_view_amounts(user),
            "is_finance": services.is_finance(user),
        },
    )


@login_required
def contract_detail(request, pk):
    contract = selectors.contract_for_detail(request.user, pk)
    installments = list(contract.installments.all())
    payments = list(
        Payment.objects.filter(contract=contract)
        .select_related("recorded_by")
        .prefetch_related(Prefetch("allocations"))
    )
    is_finance = services.is_finance(request.user)
    return render(
        request,
        "receivables/contract_detail.html",
        {
            "contract": contract,
            "installments": installments,
            "payments": payments,
            "notices": Notice.objects.filter(installment__contract=contract).select_related("installment")[:50],
            "show_amounts": can_view_amounts(request.user),
            "is_finance": is_finance,
            "payment_form": is_finance,
            "today": timezone.localdate(),
            "paid": sum((i.paid_amount for i in installments), 0),
            "outstanding": sum((i.outstanding for i in installments), 0),
        },
    )


def _plan_from(formset, amount):
    rows = [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
    if rows and all(r.get("amount") is None for r in rows):
        amounts = services.split_amount(amount, [r["percent"] for r in rows])
    else:
        if any(r.get("amount") is None for r in rows):
            raise ValidationError(_("Give either an amount for every installment or a share for every one."))
        amounts = [r["amount"] for r in rows]
    return [services.PlanLine(a, r["due_on"], r["condition"]) for a, r in zip(amounts, rows, strict=True)]


@login_required
def contract_create(request):
    user = request.user
    opportunity = None
    source = request.POST if request.method == "POST" else request.GET
    opp_id, customer_id = source.get("opportunity"), source.get("customer")
    if opp_id and str(opp_id).isdigit():
        from leads.models import Opportunity

        opportunity = get_visible_or_404(
            Opportunity.objects.filter(customer__in=visible_customers(user)).select_related("customer"), pk=int(opp_id)
        )
        customer = opportunity.customer
    elif customer_id and str(customer_id).isdigit():
        customer = get_visible_or_404(visible_customers(user), pk=int(customer_id))
    else:
        messages.info(request, _("Open a customer and use “New contract” there."))
        return redirect("receivables:contract_list")
    if not services.can_create_contract(user, customer):
        raise PermissionDenied
    if customer.status == Status.BLACKLISTED:
        messages.error(
            request, _("%(customer)s is blacklisted: no new contract can be created for it.") % {"customer": customer}
        )
        return redirect(customer.get_absolute_url())
    if request.method == "POST":
        form = ContractForm(request.POST)
        formset = InstallmentFormSet(request.POST, prefix="plan")
        if form.is_valid() and formset.is_valid():
            try:
                data = form.cleaned_data
                contract = services.create_contract(
                    customer=customer,
                    opportunity=opportunity,
                    by=user,
                    amount=data["amount"],
                    signed_on=data["signed_on"],
                    title=data["title"],
                    product_line=data["product_line"],
                    plan=_plan_from(formset, data["amount"]),
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                if contract.status == ContractStatus.PENDING:
                    messages.warning(request, _("The plan breaks the payment-term policy: saved as pending approval."))
                else:
                    messages.success(request, _("Contract created."))
                return redirect(contract)
    else:
        initial = {"signed_on": timezone.localdate()}
        if opportunity is not None:
            initial.update(title=opportunity.name, amount=opportunity.amount, product_line=opportunity.product_line)
        form = ContractForm(initial=initial)
        formset = InstallmentFormSet(prefix="plan", initial=[{"due_on": timezone.localdate()}])
    policy = services.policies_by_rating()[services.rating_of(customer)]
    return render(
        request,
        "receivables/contract_form.html",
        {"form": form, "formset": formset, "customer": customer, "opportunity": opportunity, "policy": policy},
    )


@login_required
@require_POST
def payment_create(request, pk):
    contract = selectors.contract_for_detail(request.user, pk)
    _require_finance(request.user)
    form = PaymentForm(request.POST)
    if form.is_valid():
        try:
            services.record_payment(contract=contract, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Payment recorded."))
    else:
        messages.error(request, _("Check the payment: %(errors)s") % {"errors": form.errors.as_text()})
    return redirect(contract)


@login_required
@require_POST
def contract_approve(request, pk):
    contract = selectors.contract_for_detail(request.user, pk)
    _require_finance(request.user)
    try:
        services.approve_contract(contract=contract, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Contract approved."))
    if request.POST.get("next") == "queue":
        return redirect("receivables:approvals")
    return redirect(contract)


@login_required
def approvals(request):
    _require_finance(request.user)
    pending = selectors.visible_contracts(request.user).filter(status=ContractStatus.PENDING)
    return render(request, "receivables/approvals.html", {"contracts": pending, "show_amounts": True})


@login_required
def ratings(request):
    _require_finance(request.user)
    q = (request.GET.get("q") or "").strip()
    customers = Customer.objects.filter(merged_into__isnull=True).select_related("owner")
    # Without a search: the customers with contracts (those finance has to rate first).
    customers = customers.filter(name__icontains=q) if q else customers.filter(contracts__isnull=False).distinct()
    customers = list(customers.order_by("name")[:200])
    ids = [c.pk for c in customers]
    current = {r.customer_id: r for r in CreditRating.objects.filter(customer_id__in=ids).select_related("set_by")}
    suggested = services.suggest_ratings(ids)
    rows = [{"customer": c, "rating": current.get(c.pk), "suggested": suggested.get(c.pk)} for c in customers]
    return render(request, "receivables/ratings.html", {"rows": rows, "q": q, "form": RatingForm()})


@login_required
@require_POST
def rating_set(request, customer_pk):
    _require_finance(request.user)
    customer = get_object_or_404(Customer, pk=customer_pk)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.set_credit_rating(customer=customer, by=request.user, **form.cleaned_data)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Rating of %(customer)s saved.") % {"customer": customer})
    else:
        messages.error(request, _("A rating and a note are required."))
    return redirect("receivables:ratings")


@login_required
def policies(request):
    _require_finance(request.user)
    services.ensure_default_policies()
    formset = PolicyFormSet(request.POST or None, queryset=PaymentTermPolicy.objects.all())
    if request.method == "POST" and formset.is_valid():
        for form in formset.forms:
            if form.has_changed():
                services.save_policy(policy=form.save(commit=False), by=request.user)
        messages.success(request, _("Payment-term policies saved."))
        return redirect("receivables:policies")
    return render(request, "receivables/policies.html", {"formset": formset})


@login_required
def blacklist(request):
    _require_finance(request.user)
    customers = Customer.objects.filter(status=Status.BLACKLISTED).select_related("owner").order_by("name")
    reasons = {}
    for n in Notice.objects.filter(customer__in=customers, kind=NoticeKind.BAD_DEBT).order_by("created_at"):
        reasons.setdefault(n.customer_id, n.created_at)
    rows = [{"customer": c, "since": reasons.get(c.pk)} for c in customers]
    return render(request, "receivables/blacklist.html", {"rows": rows, "form": LiftForm()})


@login_required
@require_POST
def blacklist_lift(request, customer_pk):
    _require_finance(request.user)
    customer = get_object_or_404(Customer, pk=customer_pk)
    form = LiftForm(request.POST)
    if form.is_valid():
        try:
            services.lift_blacklist(customer=customer, by=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Blacklisting of %(customer)s lifted.") % {"customer": customer})
    else:
        messages.error(request, _("A reason and the confirmation are required."))
    return redirect("receivables:blacklist")
