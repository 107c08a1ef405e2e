"""Moderation: reviewers of the owning institution approve its content.

Wagtail's GroupApprovalTask names fixed groups, so one shared task would let a
reviewer at college B see (and approve) college A's submissions. This task
resolves the reviewers from the object's institution instead, so one workflow serves
all twenty colleges and no reviewer sees another college's queue.
"""

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from wagtail.models import Page, Task, TaskState


def _institution_id(obj) -> int | None:
    specific = obj.specific if isinstance(obj, Page) else obj
    return getattr(specific, "institution_id", None)


class CollegeReviewTask(Task):
    def _reviews_for(self, user) -> set[int]:
        from cms.tenancy import institution_ids_for_user

        return institution_ids_for_user(user, role="reviewer")

    def _can_review(self, obj, user) -> bool:
        return user.is_superuser or _institution_id(obj) in self._reviews_for(user)

    def user_can_access_editor(self, obj, user):
        return self._can_review(obj, user)

    def locked_for_user(self, obj, user):
        return not self._can_review(obj, user)

    def user_can_lock(self, obj, user):
        return self._can_review(obj, user)

    def user_can_unlock(self, obj, user):
        return False

    def get_actions(self, obj, user):
        if self._can_review(obj, user):
            return [
                ("reject", _("Request changes"), True),
                ("approve", _("Approve"), False),
                ("approve", _("Approve with comment"), True),
            ]
        return []

    def on_action(self, task_state, user, action_name, **kwargs):
        # Wagtail's workflow-action view takes the task state from its URL and
        # checks the reviewer against the object named beside it, not against
        # the state's own object. The task has the last word on who reviews what.
        if not self._can_review(task_state.workflow_state.content_object, user):
            raise PermissionDenied
        return super().on_action(task_state, user, action_name, **kwargs)

    def get_task_states_user_can_moderate(self, user, **kwargs):
        in_progress = self.task_states.filter(status=TaskState.STATUS_IN_PROGRESS)
        if user.is_superuser:
            return in_progress
        from cms.tenancy import owned_objects_filter

        # WorkflowState.object_id is a string; compare against stringified pks.
        return in_progress.filter(
            owned_objects_filter(self._reviews_for(user), prefix="workflow_state__")
        )

    @classmethod
    def get_description(cls):
        return _("Reviewers of the institution that owns the content approve it")

    class Meta:
        verbose_name = "college review task"
