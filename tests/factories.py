"""factory_boy factories shared by all test folders."""

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from accounts.models import Customer
from crm.models import Profile, Team
from crm.roles import Role


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"销售{n}部")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name", locale="zh_CN")
    last_name = factory.Faker("last_name", locale="zh_CN")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("pw-Secret-123")

    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        if create and extracted:
            self.groups.add(Group.objects.get(name=Role(extracted).value))
            if extracted == Role.ADMIN:
                self.is_staff = self.is_superuser = True
                self.save(update_fields=["is_staff", "is_superuser"])

    @factory.post_generation
    def team(self, create, extracted, **kwargs):
        if create:
            Profile.objects.update_or_create(user=self, defaults={"team": extracted})


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Faker("company", locale="zh_CN")
    owner = factory.SubFactory(UserFactory, role=Role.SALES_REP)
    team = factory.LazyAttribute(lambda c: c.owner.profile.team if c.owner else None)


def overdue_tasks(personas, count: int, title: str):
    """`count` open tasks of rep_a on customer_a, due 1…count days ago plus a week, oldest first by title."""
    from datetime import timedelta

    from django.utils import timezone

    from followups.models import Task

    now = timezone.now()
    return Task.objects.bulk_create(
        Task(
            customer=personas.customer_a,
            assignee=personas.rep_a,
            team=personas.team_a,
            title=f"{title}{n:02d}",
            due_at=now - timedelta(days=count + 7 - n),
        )
        for n in range(count)
    )
