"""Payment batches in the admin: finance exports the instructed payouts and downloads the files."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from simple_history.admin import SimpleHistoryAdmin

from audit.admin import ReadableHistoryMixin
from bounty import selectors, services
from bounty.admin.pages import ReadOnlyInAdmin
from bounty.models import PaymentBatch, PaymentBatchDownload
from bounty.payment_csv import batch_filename, stream_payment_batch


class PaymentBatchDownloadInline(admin.TabularInline):
    model = PaymentBatchDownload
    extra = 0
    can_delete = False
    fields = ("downloaded_by", "downloaded_at", "redownload")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("downloaded_by")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm(services.PAY_PERMISSION)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SettlementFilter(admin.SimpleListFilter):
    """Batches with money still to pay, and those fully paid (or void)."""

    title = "settlement"
    parameter_name = "settlement"

    def lookups(self, request, model_admin):
        return [("open", "Open: a payout still to pay"), ("settled", "Settled")]

    def queryset(self, request, queryset):
        open_batches = selectors.open_payment_batches().values("pk")
        if self.value() == "open":
            return queryset.filter(pk__in=open_batches)
        if self.value() == "settled":
            return queryset.exclude(pk__in=open_batches)
        return queryset


@admin.register(PaymentBatch)
class PaymentBatchAdmin(ReadOnlyInAdmin, ReadableHistoryMixin, SimpleHistoryAdmin):
    """Finance's exports of payment instructions: made here, downloaded again by number."""

    # A batch is an export: the export button makes it, through the service.
    list_display = ("number", "currency", "count", "total", "created_by", "created_at", "file")
    list_select_related = ("created_by",)
    list_filter = (SettlementFilter, "currency")
    fields = ("number", "currency", "count", "total", "created_by", "created_at", "file")
    readonly_fields = fields
    inlines = [PaymentBatchDownloadInline]
    change_list_template = "admin/bounty/paymentbatch/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(download_count=Count("downloads"))

    def has_view_permission(self, request, obj=None):
        # The files carry the researchers' accounts: the people who pay, and nobody else.
        return request.user.has_perm(services.PAY_PERMISSION)

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    @admin.display(description="File")
    def file(self, obj):
        url = reverse("admin:bounty_paymentbatch_download", args=[obj.number])
        label = "Download again" if obj.download_count else "Download"
        return format_html('<a href="{}">{}</a>', url, label)

    def get_urls(self):
        def view(function, route, name):
            return path(
                route, self.admin_site.admin_view(function), name=f"bounty_paymentbatch_{name}"
            )

        return [
            view(require_POST(self.export_view), "export/", "export"),
            view(self.download_view, "<int:number>/download/", "download"),
            *super().get_urls(),
        ]

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batches = services.export_payment_batches(acting_user=request.user)
        if not batches:
            self.message_user(request, "No instructed payout waits for a batch.", messages.INFO)
        for batch in batches:
            self.message_user(
                request,
                format_html(
                    '{}: {}, {} {}. <a href="{}">Download it</a>.',
                    batch,
                    ngettext("%(count)d payout", "%(count)d payouts", batch.count)
                    % {"count": batch.count},
                    batch.total,
                    batch.currency,
                    reverse("admin:bounty_paymentbatch_download", args=[batch.number]),
                ),
                messages.SUCCESS,
            )
        return redirect("admin:bounty_paymentbatch_changelist")

    def download_view(self, request, number):
        if not self.has_view_permission(request):
            raise PermissionDenied
        batch = get_object_or_404(PaymentBatch, number=number)
        download = services.record_batch_download(batch, acting_user=request.user)
        rows = stream_payment_batch(
            batch,
            selectors.batch_lines(batch).iterator(chunk_size=selectors.BATCH_LINES_PER_FETCH),
            redownload=download.redownload,
        )
        response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
        filename = batch_filename(batch, redownload=download.redownload)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
