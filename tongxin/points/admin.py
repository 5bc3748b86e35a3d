"""Admin: rules, tiers and mall items are configured here; the ledger and everything that moves points
is read-only (entries are append-only: no add, no change, no delete — corrections are reversal
entries, made through the services)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from .models import Account, Activity, Appeal, Entry, Item, PendingAward, Redemption, Rule, Signup, Tier


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "amount", "approval_threshold", "active")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        return ("code",) if obj is not None else ()  # callers name rules by code: it never changes

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False  # entries refer to their rule; deactivate instead


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ("name", "min_points", "privileges")


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("name", "area", "price", "stock", "active")
    list_filter = ("active",)
    search_fields = ("name",)
    raw_id_fields = ("area",)

    def get_readonly_fields(self, request: Any, obj: Any = None) -> tuple[str, ...]:
        # Stock moves with redemptions under a conditional UPDATE; the admin's form would overwrite a
        # concurrent change, so an existing item's stock is changed by a new item or through the pages.
        return ("stock",) if obj is not None else ()


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "account", "amount", "balance_after", "cause_label", "idempotency_key", "reverses")
    search_fields = ("idempotency_key", "cause_label")
    list_select_related = ("account",)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("resident_id", "kind", "balance", "updated_at")
    list_filter = ("kind",)


@admin.register(PendingAward)
class PendingAwardAdmin(ReadOnlyAdmin):
    list_display = ("proposed_at", "rule", "amount", "status", "proposed_by", "decided_by")
    list_filter = ("status",)


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "entry", "status", "decided_by")
    list_filter = ("status",)


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "item", "price", "status", "pickup_code")
    list_filter = ("status",)


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdmin):
    list_display = ("title", "area", "starts_at", "capacity")


@admin.register(Signup)
class SignupAdmin(ReadOnlyAdmin):
    list_display = ("activity", "status", "hours", "confirmed_at")
    list_filter = ("status",)
