"""The content model, one module per domain. Import models from here."""

from .api_keys import ApiKey
from .courses import ChapterPage, ChapterResource, CollegePage, CoursePage, HomePage
from .institutions import Institution
from .majors import Major, MajorCourse
from .resources import Resource, ResourceType
from .workflows import CollegeReviewTask

__all__ = [
    "ApiKey",
    "ChapterPage",
    "ChapterResource",
    "CollegePage",
    "CollegeReviewTask",
    "CoursePage",
    "HomePage",
    "Institution",
    "Major",
    "MajorCourse",
    "Resource",
    "ResourceType",
]
