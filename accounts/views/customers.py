"""Customer archive pages: list (filters, columns, bulk actions, export), detail, create/edit, contacts.

Views stay thin: selectors decide what the user sees, services do every write.
"""

from collections import OrderedDict

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.generic import DetailView
from django_filters.views import FilterView
from django_tables2 import LazyPaginator, RequestConfig, SingleTableMixin, SingleTableView

from crm.access import can_edit_owned, can_export, can_view_amounts, get_visible_or_404, has_role, is_admin
from crm.audit import record_export
from crm.exports import FORMATS, export_response
from crm.paginators import KeysFirstPaginator
from crm.roles import SALES_ROLES, Role

from .. import timeline
from ..filters import CustomerFilter
from ..forms import BulkActionForm, ColumnsForm, ContactForm, CustomerForm, column_choices, contact_formset
from ..models import Contact, ContactRole, Customer
from ..selectors import archive_customers, completeness_summary, incomplete_customers, visible_customers
from ..services import customers as services
from ..tables import AMOUNT_COLUMNS, DEFAULT_COLUMNS, OPTIONAL_COLUMNS, CustomerTable, IncompleteTable

COLUMNS_SESSION_KEY = "accounts.customer_columns"
PER_PAGE = 25


def _back(request, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


def can_manage_completeness(user) -> bool:
    return is_admin(user) or has_role(user, Role.MANAGER)


def can_create_customers(user) -> bool:
    return is_admin(user) or has_role(user, *SALES_ROLES)


def visible_columns(request) -> list[str]:
    """The optional columns this user chose (session), minus amounts when they may not see them."""
    chosen = request.session.get(COLUMNS_SESSION_KEY) or DEFAULT_COLUMNS
    show_amounts = can_view_amounts(request.user)
    return [c for c in OPTIONAL_COLUMNS if c in chosen and (show_amounts or c not in AMOUNT_COLUMNS)]


# --- list ---------------------------------------------------------------------------------------


class CustomerListView(LoginRequiredMixin, SingleTableMixin, FilterView):
    table_class = CustomerTable
    filterset_class = CustomerFilter
    template_name = "accounts/customer_list.html"
    table_pagination = {"paginator_class": KeysFirstPaginator, "per_page": PER_PAGE}

    def get_queryset(self):
        return archive_customers(self.request.user).order_by("-id")

    def get_table_kwargs(self):
        shown = visible_columns(self.request)
        return {"exclude": [c for c in OPTIONAL_COLUMNS if c not in shown]}

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("_export")
        if fmt:
            return self.export(fmt)
        return super().get(request, *args, **kwargs)

    def export(self, fmt: str):
        """The current filtered, sorted list as a file; needs the export permission."""
        if not can_export(self.request.user):
            raise PermissionDenied
        if fmt not in FORMATS:
            return HttpResponseBadRequest(_("Unknown export format."))
        filterset = self.get_filterset(self.get_filterset_class())
        queryset = filterset.qs if filterset.is_valid() else self.get_queryset().none()
        hidden = [] if can_view_amounts(self.request.user) else list(AMOUNT_COLUMNS)
        table = CustomerTable(queryset, exclude=hidden)
        RequestConfig(self.request, paginate=False).configure(table)
        values = table.as_values()
        headers = next(values)
        record_export(self.request, what="accounts.Customer", fmt=fmt)
        return export_response(headers=headers, rows=values, fmt=fmt, basename="customers")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        show_amounts = can_view_amounts(user)
        # The column chooser as (name, label, shown): plain values for a plain checkbox list (a
        # bound form field would build a widget per choice on every page view).
        shown = set(visible_columns(self.request))
        context["column_choices"] = [(name, label, name in shown) for name, label in column_choices(show_amounts)]
        context["bulk_form"] = BulkActionForm(user=user)
        context["can_export"] = can_export(user)
        context["can_create"] = can_create_customers(user)
        context["can_manage_completeness"] = can_manage_completeness(user)
        query = self.request.GET.copy()
        query.pop("page", None)
        query.pop("_export", None)
        context["querystring"] = query.urlencode()
        return context


@login_required
@require_POST
def customer_columns(request):
    form = ColumnsForm(request.POST, show_amounts=can_view_amounts(request.user))
    if form.is_valid():
        request.session[COLUMNS_SESSION_KEY] = form.cleaned_data["columns"]
        messages.success(request, _("Column choice saved."))
    return redirect(_back(request, reverse("accounts:customer_list")))


@login_required
@require_POST
def customer_bulk(request):
    """Assign an owner or add a tag to the checked rows; rows the user may not edit are skipped."""
    back = _back(request, reverse("accounts:customer_list"))
    form = BulkActionForm(request.POST, user=request.user)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    pks = set(form.cleaned_data["pks"])
    customers = list(visible_customers(request.user).filter(pk__in=pks, merged_into__isnull=True))
    if form.cleaned_data["action"] == BulkActionForm.ASSIGN_OWNER:
        result = services.assign_owner(customers=customers, owner=form.cleaned_data["owner"], by=request.user)
        done_text = ngettext(
            "%(count)d customer assigned to %(owner)s.", "%(count)d customers assigned to %(owner)s.", len(result.done)
        ) % {"count": len(result.done), "owner": form.cleaned_data["owner"]}
    else:
        tag = form.cleaned_data["tag"].strip()
        result = services.add_tag(customers=customers, tag=tag, by=request.user)
        done_text = ngettext(
            "Tag “%(tag)s” added to %(count)d customer.",
            "Tag “%(tag)s” added to %(count)d customers.",
            len(result.done),
        ) % {"count": len(result.done), "tag": tag}
    if result.done:
        messages.success(request, done_text)
    skipped = len(result.skipped) + (len(pks) - len(customers))
    if skipped:
        messages.warning(
            request,
            ngettext(
                "%(count)d selected customer was skipped: you may not edit it.",
                "%(count)d selected customers were skipped: you may not edit them.",
                skipped,
            )
            % {"count": skipped},
        )
    return redirect(back)


# --- detail -------------------------------------------------------------------------------------

ROLE_ORDER = [ContactRole.DECISION_MAKER, ContactRole.USER, ContactRole.INFLUENCER, ContactRole.PURCHASER]


class CustomerDetailView(LoginRequiredMixin, DetailView):
    template_name = "accounts/customer_detail.html"
    context_object_name = "customer"

    def get_object(self, queryset=None):
        # The health and tier cards read their one-to-one rows from this query (a join each).
        customers = visible_customers(self.request.user).select_related("health", "tier_assessment__override_by")
        return get_visible_or_404(customers.prefetch_related("tags", "contacts"), pk=self.kwargs["pk"])

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        if self.object.merged_into_id:
            messages.info(request, _("This record was merged into another one; here is the surviving record."))
            return redirect("accounts:customer_detail", pk=self.object.merged_into_id)
        return self.render_to_response(self.get_context_data(object=self.object))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, customer = self.request.user, self.object
        contacts = list(customer.contacts.all())
        chain = OrderedDict((role, {"label": role.label, "contacts": []}) for role in ROLE_ORDER)
        for contact in contacts:
            chain.setdefault(contact.role, {"label": contact.get_role_display(), "contacts": []})["contacts"].append(
                contact
            )
        context.update(
            can_edit=can_edit_owned(user, customer),
            show_amounts=can_view_amounts(user),
            history=timeline.recent_history(customer)[:20],
            timeline=timeline.events_for(customer, user),
            extra_actions=timeline.actions_for(customer, user),
            decision_chain=chain,
            contact_count=len(contacts),
            has_decision_maker=bool(chain[ContactRole.DECISION_MAKER]["contacts"]),
            missing=services.missing_fields(customer),
            required_missing=services.required_missing(customer) if customer.status == "active" else [],
        )
        from .churn import customer_health_context

        context.update(customer_health_context(customer, user))
        return context


# --- create / edit ------------------------------------------------------------------------------


def _editable_customer(request, pk) -> Customer:
    """404 when the user cannot see it, 403 when they see it but may not edit it."""
    customer = get_visible_or_404(visible_customers(request.user).prefetch_related("tags"), pk=pk)
    if not can_edit_owned(request.user, customer):
        raise PermissionDenied
    return customer


def _changed_contacts(formset) -> tuple[list[Contact], list[Contact]]:
    to_save, to_delete = [], []
    for form in formset.forms:
        if not form.has_changed() and not form.instance.pk:
            continue
        if formset.can_delete and formset._should_delete_form(form):
            if form.instance.pk:
                to_delete.append(form.instance)
            continue
        if form.has_changed():
            to_save.append(form.save(commit=False))
    return to_save, to_delete


def _save_customer(request, *, form, formset, creating: bool):
    """Call the service; turns duplicate errors into form errors. Returns the customer or None."""
    customer = form.save(commit=False)
    contacts, deleted = _changed_contacts(formset)
    options = {"by": request.user, "tags": form.cleaned_data["tags"], "contacts": contacts}
    options["confirm_similar"] = form.cleaned_data.get("confirm_duplicate", False)
    try:
        if creating:
            return services.create_customer(customer=customer, **options)
        with transaction.atomic():
            # Lock the row, then compare versions: of two people saving at once, the second is told.
            current = Customer.objects.select_for_update().values_list("updated_at", flat=True).get(pk=customer.pk)
            if form.edited_meanwhile(current):
                form.add_error(
                    None,
                    _(
                        "Someone else saved this customer after you opened this form, so your changes were "
                        "not saved. Open the customer again to see the new values, then redo your changes."
                    ),
                )
                return None
            return services.update_customer(customer=customer, delete_contacts=deleted, **options)
    except services.DuplicateCustomerError as exc:
        form.add_error(
            "credit_code",
            _("A customer with this credit code already exists: %(name)s (%(number)s).")
            % {"name": exc.existing.name, "number": exc.existing.number},
        )
        return exc
    except services.SimilarCustomerWarning as exc:
        form.add_error(
            None, _("A customer with a very similar name already exists. Check it, or confirm to save anyway.")
        )
        return exc


def _customer_form_page(request, *, customer: Customer | None):
    user, creating = request.user, customer is None
    customer = customer or Customer()
    show_amounts = can_view_amounts(user)
    FormSet = contact_formset(extra=2 if creating else 0, can_delete=not creating)
    data = request.POST if request.method == "POST" else None
    form = CustomerForm(data, instance=customer, user=user, show_amounts=show_amounts)
    formset = FormSet(data, instance=customer, prefix="contacts", queryset=Contact.objects.filter(customer=customer.pk))
    duplicate_of, similar = None, []
    if data is not None and form.is_valid() and formset.is_valid():
        outcome = _save_customer(request, form=form, formset=formset, creating=creating)
        if isinstance(outcome, Customer):
            messages.success(
                request,
                (_("Customer “%(name)s” created.") if creating else _("Customer “%(name)s” saved."))
                % {"name": outcome.name},
            )
            return redirect(outcome)
        if isinstance(outcome, services.DuplicateCustomerError):
            duplicate_of = outcome.existing
        elif isinstance(outcome, services.SimilarCustomerWarning):
            similar = outcome.matches
    return render(
        request,
        "accounts/customer_form.html",
        {
            "form": form,
            "formset": formset,
            "customer": customer if not creating else None,
            "duplicate_of": duplicate_of,
            "similar": similar,
            "show_amounts": show_amounts,
        },
    )


@login_required
def customer_create(request):
    if not can_create_customers(request.user):
        raise PermissionDenied
    return _customer_form_page(request, customer=None)


@login_required
def customer_edit(request, pk):
    customer = _editable_customer(request, pk)
    if customer.merged_into_id:
        return redirect("accounts:customer_detail", pk=customer.merged_into_id)
    return _customer_form_page(request, customer=customer)


# --- contacts -----------------------------------------------------------------------------------


@login_required
def contact_form(request, pk, contact_pk=None):
    customer = _editable_customer(request, pk)
    contact = get_visible_or_404(customer.contacts.all(), pk=contact_pk) if contact_pk else Contact(customer=customer)
    form = ContactForm(request.POST or None, instance=contact)
    if request.method == "POST" and form.is_valid():
        services.save_contact(contact=form.save(commit=False), by=request.user)
        messages.success(request, _("Contact “%(name)s” saved.") % {"name": contact.name})
        return redirect(customer)
    return render(request, "accounts/contact_form.html", {"customer": customer, "contact": contact, "form": form})


@login_required
def contact_delete(request, pk, contact_pk):
    customer = _editable_customer(request, pk)
    contact = get_visible_or_404(customer.contacts.all(), pk=contact_pk)
    if request.method == "POST":
        services.delete_contact(contact=contact, by=request.user)
        messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
        return redirect(customer)
    return render(request, "accounts/contact_confirm_delete.html", {"customer": customer, "contact": contact})


# --- completeness -------------------------------------------------------------------------------


class IncompleteListView(LoginRequiredMixin, SingleTableView):
    """Active customers missing required fields, for managers and admins."""

    table_class = IncompleteTable
    template_name = "accounts/incomplete_list.html"
    table_pagination = {"paginator_class": LazyPaginator, "per_page": PER_PAGE}

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not can_manage_completeness(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_queryset(self):
        return incomplete_customers(self.request.user).order_by("completeness", "-id")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary"] = completeness_summary(self.request.user)
        return context
