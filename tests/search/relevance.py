"""The labelled query set: what learners type, and what they are looking for.

Each entry: the query, the major it comes from (every one of the 15 majors is
covered), what kind of query it is, and the targets — a course by code, or a
chapter by course code and title. A result counts as a hit if it *is* a
target, or, for a chapter target, one of that chapter's resources (a learner
looking for a chapter topic is served by its notes or video as well).

Scored as success@5 (a hit in the first five) and MRR (mean of 1 / rank of
the first hit). Shared by the test (tests/search/test_relevance.py) and the
benchmark (bench/search_api.py), which also scores a plain multi_match baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

Target = tuple[str, ...]  # ("course", code) or ("chapter", code, title)


@dataclass(frozen=True)
class Labelled:
    query: str
    major: str
    kind: str  # name, abbreviation, code, topic, latin, traditional
    targets: tuple[Target, ...]


def course(code: str) -> Target:
    return ("course", code)


def chapter(code: str, title: str) -> Target:
    return ("chapter", code, title)


def _q(query: str, major: str, kind: str, *targets: Target) -> Labelled:
    return Labelled(query, major, kind, targets)


MAOGAI = (course("12656"), course("15041"))

QUERIES: tuple[Labelled, ...] = (
    # 050101 汉语言文学
    _q("中国现代文学史", "050101", "name", course("00537")),
    _q("现汉", "050101", "abbreviation", course("00535")),
    _q("古汉", "050101", "abbreviation", course("00536")),
    _q("五四文学革命", "050101", "topic", chapter("00537", "第一章 五四文学革命与新文学的发生")),
    _q("语言学概论", "050101", "name", course("00541")),
    # 120203K 会计学
    _q("基础会计学", "120203K", "name", course("00041")),
    _q("中财", "120203K", "abbreviation", course("00155")),
    _q("00041", "120203K", "code", course("00041")),
    _q("会计要素与会计等式", "120203K", "topic", chapter("00041", "第二章 会计要素与会计等式")),
    _q("基礎會計學", "120203K", "traditional", course("00041")),
    # 030101K 法学
    _q("劳动法", "030101K", "name", course("00167")),
    _q("劳动合同", "030101K", "topic", chapter("00167", "第四章 劳动合同")),
    _q("法理学", "030101K", "name", course("05677")),
    _q("05677", "030101K", "code", course("05677")),
    _q("法的渊源与效力", "030101K", "topic", chapter("05677", "第六章 法的渊源与效力")),
    # 550101 艺术设计
    _q("设计概论", "550101", "name", course("00688")),
    _q("毛概", "550101", "abbreviation", *MAOGAI),
    _q("思修", "550101", "abbreviation", course("03706")),
    _q("CI设计", "550101", "latin", course("01198")),
    _q("设计与科学技术", "550101", "topic", chapter("00688", "第五章 设计与科学技术")),
    # 101101 护理学
    _q("护导", "101101", "abbreviation", course("03201")),
    _q("护理学导论", "101101", "name", course("03201")),
    _q("内科护理学", "101101", "name", course("03202")),
    _q("健康与疾病", "101101", "topic", chapter("03201", "第二章 健康与疾病")),
    # 120201K 工商管理
    _q("组行", "120201K", "abbreviation", course("00152")),
    _q("管原", "120201K", "abbreviation", course("00054")),
    _q("企业经营战略", "120201K", "name", course("00151")),
    _q("知觉与个体决策", "120201K", "topic", chapter("00152", "第三章 知觉与个体决策")),
    # 120206 人力资源管理
    _q("薪酬管理", "120206", "name", course("06091")),
    _q("职位评价", "120206", "topic", chapter("06091", "第三章 职位评价")),
    _q("工作分析", "120206", "name", course("06092")),
    _q("06091", "120206", "code", course("06091")),
    # 080901 计算机科学与技术
    _q("java", "080901", "latin", course("04747"), course("04748")),
    _q("ＪＡＶＡ语言程序设计", "080901", "latin", course("04747"), course("04748")),
    _q("C++", "080901", "latin", course("04737"), course("04738")),
    _q("c++程序设计", "080901", "latin", course("04737"), course("04738")),
    _q("计网", "080901", "abbreviation", course("04741")),
    _q("栈和队列", "080901", "topic", chapter("02331", "第三章 栈和队列")),
    _q("数据链路层", "080901", "topic", chapter("04741", "第五章 数据链路层与局域网")),
    _q("02331", "080901", "code", course("02331")),
    _q("計算機網絡原理", "080901", "traditional", course("04741")),
    # 040106 学前教育
    _q("学前教育原理", "040106", "name", course("00398")),
    _q("幼儿园环境", "040106", "topic", chapter("00398", "第六章 幼儿园环境")),
    _q("学前教育史", "040106", "name", course("00402")),
    # 120402 行政管理
    _q("行政管理学", "120402", "name", course("00277")),
    _q("行政职能", "120402", "topic", chapter("00277", "第三章 行政职能")),
    _q("公关", "120402", "abbreviation", course("00182")),
    _q("社会化", "120402", "topic", chapter("00034", "第五章 社会化")),
    # 020301K 金融学
    _q("金融理论", "020301K", "abbreviation", course("00150")),
    _q("货币与货币制度", "020301K", "topic", chapter("00150", "第一章 货币与货币制度")),
    _q("线代", "020301K", "abbreviation", course("04184")),
    _q("财管", "020301K", "abbreviation", course("00067")),
    # 050201 英语
    _q("英美文学选读", "050201", "name", course("00604")),
    _q("英语词汇学", "050201", "name", course("00832")),
    _q(
        "word formation",
        "050201",
        "latin",
        chapter("00832", "Chapter 4 Word Formation I"),
        chapter("00832", "Chapter 5 Word Formation II"),
    ),
    _q("现代语言学", "050201", "name", course("00830")),
    # 120202 市场营销
    _q("市场营销学", "120202", "name", course("00058")),
    _q("国贸", "120202", "abbreviation", course("00149")),
    _q("消费者市场与购买行为", "120202", "topic", chapter("00058", "第三章 消费者市场与购买行为")),
    _q("00058", "120202", "code", course("00058")),
    # 570103K 小学教育
    _q("小学教育学", "570103K", "name", course("14447")),
    _q("习概", "570103K", "abbreviation", course("15040")),
    _q("思道法", "570103K", "abbreviation", course("15042")),
    _q("小学教师与学生", "570103K", "topic", chapter("14447", "第五章 小学教师与学生")),
    # 530302 大数据与会计
    _q("基会", "530302", "abbreviation", course("00041")),
    _q("成本会计", "530302", "name", course("00156")),
    _q("时间价值与风险收益", "530302", "topic", chapter("00067", "第二章 时间价值与风险收益")),
    _q("00155", "530302", "code", course("00155")),
    # Public courses, asked by learners of every major
    _q("马原", "050101", "abbreviation", course("03709")),
    _q("英二", "120203K", "abbreviation", course("00015")),
    _q("00015", "101101", "code", course("00015")),
    _q("近代史", "030101K", "abbreviation", course("03708")),
    _q("馬克思主義基本原理", "120402", "traditional", course("03709")),
    # Harder: partial names, several right answers, words inside names
    _q("数据库", "080901", "name", course("04735"), course("04736")),
    _q("毛泽东思想", "530302", "name", *MAOGAI),
    _q("财务报表分析", "120203K", "name", course("00161")),
    _q("概率论", "120201K", "abbreviation", course("04183"), course("02197")),
    _q("长期股权投资", "530302", "topic", chapter("00155", "第六章 长期股权投资")),
    _q("鲁迅", "050101", "topic", chapter("00537", "第二章 鲁迅")),
)

Hit = tuple[str, int]  # (kind, object id)


@dataclass(frozen=True)
class Score:
    success_at_5: float
    mrr: float
    misses: list[str]


def score(
    queries: Sequence[Labelled],
    search: Callable[[str], Sequence[Hit]],
    relevant: Callable[[Labelled], Iterable[Hit]],
) -> Score:
    """``search`` returns the ranked (kind, id) hits of a query; ``relevant`` the
    hits that count for a labelled query."""
    successes = 0
    reciprocal = 0.0
    misses: list[str] = []
    for labelled in queries:
        wanted = set(relevant(labelled))
        ranked = list(search(labelled.query))
        rank = next((position for position, hit in enumerate(ranked, 1) if hit in wanted), None)
        if rank is not None and rank <= 5:
            successes += 1
        else:
            misses.append(f"{labelled.query} (rank {rank})")
        reciprocal += 1 / rank if rank else 0.0
    return Score(successes / len(queries), reciprocal / len(queries), misses)


def relevant_hits(labelled: Labelled) -> set[Hit]:
    """The (kind, id) hits that answer a labelled query, from the database."""
    from cms.models import ChapterPage, ChapterResource, CoursePage

    hits: set[Hit] = set()
    for target in labelled.targets:
        courses = CoursePage.objects.live().filter(code=target[1])
        if target[0] == "course":
            hits.update(("course", pk) for pk in courses.values_list("pk", flat=True))
            continue
        for parent in courses:
            chapters = ChapterPage.objects.child_of(parent).filter(title=target[2])
            for chapter_id in chapters.values_list("pk", flat=True):
                hits.add(("chapter", chapter_id))
                hits.update(
                    ("resource", resource_id)
                    for resource_id in ChapterResource.objects.filter(
                        chapter_id=chapter_id
                    ).values_list("resource_id", flat=True)
                )
    return hits
