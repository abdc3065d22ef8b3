"""Factories of the lead pool tests."""

import factory

from leads.models import Channel, Lead


class ChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Channel
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"channel{n}")
    name = factory.LazyAttribute(lambda c: f"渠道 {c.code}")
    quality = 50


class LeadFactory(factory.django.DjangoModelFactory):
    """A raw row (bypasses services); use services.create_lead where the rules matter."""

    class Meta:
        model = Lead

    company = factory.Sequence(lambda n: f"线索公司{n}号")
    normalized_company = factory.LazyAttribute(lambda lead: lead.company)
    contact_name = "王经理"
    channel = factory.SubFactory(ChannelFactory)
    team = factory.LazyAttribute(lambda lead: lead.owner.profile.team if lead.owner else None)
    owner = None
