"""The full-scale demo network: generated outlines and resources, and demo logins.

Everything here except ``demo_users_ensure`` is pure: the catalogue and a seed
in, plain data out. ``manage.py load_demo`` writes it; tests check the
generator without a database. The same seed always gives the same titles,
so a re-run finds the rows it made through their ``import_key``.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from cms.models import Institution, ResourceType
from cms.tenancy import NETWORK_ADMINS_GROUP, college_groups

DEMO_SEED = 2026
# The network's real figure (DESIGN.md): the demo has exactly this many resources.
RESOURCE_TOTAL = 14_997
CHAPTERS_PER_GENERATED_OUTLINE = (8, 12)
# Resources per chapter stay in this band while the total is made exact.
RESOURCES_PER_CHAPTER = (4, 10)
DEMO_PASSWORD = "wanxue-demo"
DEMO_URL_BASE = "https://example.edu.cn"

# A few resources are reused by another college's course, as editors do:
# (source course, target course); chapter 1's first video of the source is
# appended to chapter 1 of the target. The owners differ (course_owner_codes).
CROSS_COLLEGE_REUSE = (("00018", "00019"), ("00015", "13000"), ("03706", "15042"))
# Courses of 安徽开放大学 whose chapter-1 video gets a real clip, so
# ``editor_ahkfdx`` sees playable media in their own college.
VIDEO_CLIP_COURSES = ("00012", "00688", "03706")

NUMERALS = "一二三四五六七八九十"

# Chapter themes by subject, in the order a textbook would take them. A course
# takes the first pool whose keyword its name contains; ``{core}`` is the
# course name without brackets and generic endings (概论, 基础…).
SUBJECT_THEMES: tuple[tuple[str, str], ...] = (
    (
        "实践",
        "实践环境与工具准备 {core}基本操作训练 {core}基础实验 典型任务实训 综合实验设计"
        " 实验数据记录与分析 常见问题排查 项目式综合实践 实践报告撰写 实践考核要点 考核样题演练",
    ),
    (
        "论文 研究方法",
        "选题与开题 文献检索与综述 研究设计与方法 资料收集与整理 数据分析与结果呈现"
        " 论文结构与写作规范 引用规范与学术诚信 论文修改与定稿 答辩准备 答辩陈述与问答"
        " 优秀论文评析",
    ),
    (
        "英语 日语 德语 外语 口译 翻译",
        "语音与词汇 构词法与词汇扩展 基础语法要点 句型与句子结构"
        " 阅读理解技巧 段落与语篇分析 翻译方法与技巧 写作基础与范文 听力与口语表达 文化背景知识"
        " 应试策略与真题解析 综合能力训练",
    ),
    (
        "护理",
        "护理学基础理论 护理程序 健康评估 常见症状护理 专科护理技术 用药护理与安全"
        " 心理护理与沟通 康复与健康教育 护理管理 伦理与法律问题 典型病例分析 循证护理与发展",
    ),
    (
        "教育 学前 儿童 幼儿 小学 教师 家庭 班队 美育 课程 游戏",
        "基本概念与发展历程 理论基础"
        " 儿童身心发展特点 目标与内容 原则与方法 组织与实施 环境创设与资源利用 评价与反思"
        " 家园（校）合作 教师专业发展 典型案例分析 政策与改革动向",
    ),
    (
        "思想道德 习近平 马克思 毛泽东",
        "形成的时代背景 科学内涵与理论体系 基本立场观点方法"
        " 历史地位与指导意义 经济建设 政治建设 文化建设 社会建设 生态文明建设 理想信念与道德修养"
        " 法治思维与法治实践 新时代的使命与担当",
    ),
    (
        "法学 法律 法制 律师 公证 法概论 国际法 国际私法 公司法 合同法 税法 票据法"
        " 保险法 金融法 家庭法 房地产法",
        "{core}的概念与渊源 {core}的基本原则 法律关系主体 权利与义务 {core}的主要制度"
        " 法律行为与效力 法律责任 程序规则 纠纷解决机制 典型案例评析 比较法视野 立法与改革动态",
    ),
    (
        "数学 代数 概率 数论 统计 逻辑",
        "基本概念与符号 基本运算与性质 定理及其证明 计算方法与技巧"
        " {core}中的推理方法 典型例题解析 应用问题与建模 常见错误辨析 综合题型训练 数学思想方法"
        " 历年真题精讲 知识体系总复习",
    ),
    (
        "计算机 程序 数据 操作系统 组成原理 Java C++",
        "计算机系统基础 数据表示与存储"
        " {core}的基本结构 程序设计基础 数据结构与算法 操作系统与运行环境 数据库应用 网络与信息安全"
        " 软件开发方法 调试与测试 典型应用开发 前沿技术与发展",
    ),
    (
        "会计 财务 税 审计 成本",
        "基本假设与会计原则 核算对象与会计要素 会计科目与账户"
        " 主要经济业务核算 成本计算方法 财务报表编制 内部控制 财务分析与评价 会计信息化"
        " 法规与会计准则 典型业务案例分析 改革与发展趋势",
    ),
    (
        "金融 银行 货币 证券 保险 财政",
        "基本范畴 机构与体系 市场与工具 风险与收益 业务经营"
        " 资产负债管理 政策与宏观调控 监管制度 国际比较 创新与数字化 典型案例分析 发展趋势",
    ),
    (
        "心理",
        "心理学基础 感知觉与注意 学习与记忆 动机与需要 情绪与情感 个性与能力 群体心理"
        " 心理发展规律 心理测量方法 心理健康与调适 应用案例分析 研究前沿",
    ),
    (
        "经济",
        "基本问题与研究方法 需求、供给与价格 消费者行为 生产与成本 市场结构"
        " 要素市场与收入分配 市场失灵与政府干预 国民收入核算 宏观经济政策 开放经济"
        " 经济增长与周期 典型问题分析",
    ),
    (
        "设计 色彩 素描 构成 字体 标志 装饰",
        "设计基础与审美 造型要素 形式美法则 色彩原理与搭配"
        " 构图与版式 材料与工艺 创意思维方法 设计流程与表达 数字化设计工具 作品赏析 项目实训"
        " 设计趋势与创新",
    ),
    (
        "管理 营销 市场 商务 谈判 推销 广告 人力 绩效 劳动 咨询 企业 商品 领导 人员 质量 策划",
        "基本概念与理论演进 环境分析 计划与决策 组织结构设计 人员配置与激励 领导与沟通"
        " 控制与评价 战略与创新 方法与工具 实务操作流程 典型案例分析 国际化与发展趋势",
    ),
    (
        "政治 行政 政策 市政 公务员 公文",
        "基本概念与研究对象 历史沿革 体制与结构 主要制度"
        " 运行机制 职能与权力 决策与执行 监督与评估 法治与规范 改革与创新 比较研究 典型案例分析",
    ),
    (
        "文学 汉语 语文 作家 作品 写作 艺术",
        "基本概念与研究对象 历史发展脉络"
        " 主要流派与代表人物 经典作品选读 语言与表达 结构与技巧 鉴赏方法 批评与理论 写作实践"
        " 比较与影响 专题研究 当代发展",
    ),
)
GENERIC_THEMES = (
    "基本概念 基本理论 主要制度 基本原则 方法与实务 组织与管理 评价与控制 技术与工具 案例分析"
    " 国际比较 法规与标准 发展趋势"
)
CLOSING_THEMES = ("{core}的发展趋势", "{core}综合案例分析", "{core}前沿问题与展望")
GENERIC_ENDINGS = ("概论", "导论", "概述", "基础", "原理", "学说史", "理论与实务")

# Per resource type: (relative weight, title templates). Documents and exercise
# sets are what learners use most, so they are the most common.
RESOURCE_KINDS: dict[str, tuple[int, tuple[str, ...]]] = {
    ResourceType.DOCUMENT: (
        30,
        (
            "{topic}：课程讲义",
            "{topic}：知识点思维导图",
            "{topic}：考点归纳笔记",
            "{topic}：教材重难点解析",
        ),
    ),
    ResourceType.EXERCISE_SET: (
        27,
        (
            "{topic}：章节练习（{n}题）",
            "{topic}：历年真题精选（{n}题）",
            "{topic}：单元自测卷（{n}题）",
            "{topic}：简答与论述题训练",
        ),
    ),
    ResourceType.VIDEO: (
        20,
        ("{chapter} · 重点精讲视频", "{topic}：难点突破微课", "{topic}：真题串讲视频"),
    ),
    ResourceType.ARTICLE: (
        12,
        ("{topic}：学习指导", "{topic}：常见误区辨析", "{topic}：典型案例解读"),
    ),
    ResourceType.AUDIO: (6, ("{topic}：考点速记音频", "{topic}：串讲录音")),
    ResourceType.LINK: (
        5,
        ("{topic}：考试大纲（全国考委）", "{topic}：拓展阅读（国家智慧教育平台）"),
    ),
}
SUMMARIES: dict[str, str] = {
    ResourceType.DOCUMENT: "整理《{course}》{number}「{topic}」的讲授要点，覆盖{points}等知识点，"
    "便于复习时对照教材查漏补缺。",
    ResourceType.EXERCISE_SET: "围绕{points}等知识点编排的练习，附参考答案与解析，"
    "检验对《{course}》{number}的掌握程度。",
    ResourceType.VIDEO: "主讲教师讲解《{course}》{number}「{topic}」，重点剖析{points}，"
    "配合典型例题帮助考生理解考点。",
    ResourceType.ARTICLE: "结合助学课堂的常见问题，说明{points}的理解要点与易错之处，"
    "适合学完《{course}》{number}后阅读。",
    ResourceType.AUDIO: "《{course}》{number}「{topic}」的音频串讲，提炼{points}等要点，"
    "适合通勤时反复收听。",
    ResourceType.LINK: "外部学习资源：与《{course}》{number}「{topic}」相关的{points}等内容的"
    "权威资料。",
}
ASPECTS = ("的概念", "的特征", "的分类", "的作用", "的基本原理", "的应用")
CHAPTER_PREFIX = re.compile(r"^(第[一二三四五六七八九十百]+[章编篇]|导论|绪论)\s*")


@dataclass(frozen=True)
class ResourceSpec:
    import_key: str
    title: str
    resource_type: str
    summary: str
    body: str
    knowledge_points: tuple[str, ...]
    difficulty: int
    duration_seconds: int | None
    external_url: str


@dataclass(frozen=True)
class ChapterSpec:
    course_code: str
    number: int  # 1-based position among the course's chapters (slug chapter-<n>)
    title: str
    resources: tuple[ResourceSpec, ...]


@dataclass(frozen=True)
class DemoPlan:
    outlines: dict[str, tuple[str, ...]]  # course code -> chapter titles, in order
    chapters: tuple[ChapterSpec, ...]
    # (import key of a resource, target course, target chapter number)
    reuses: tuple[tuple[str, str, int], ...]
    video_clip_keys: tuple[str, ...]

    @property
    def resource_count(self) -> int:
        return sum(len(chapter.resources) for chapter in self.chapters)


def chapter_numeral(number: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二 (outlines stop well before 20)."""
    if number <= 10:
        return NUMERALS[number - 1]
    return "十" + NUMERALS[number - 11]


def course_core(name: str) -> str:
    """The subject a course is about: 「管理会计（一）」 → 「管理会计」, 「普通逻辑」 stays."""
    core = re.sub(r"（[^）]*）", "", name)
    for ending in GENERIC_ENDINGS:
        if core.endswith(ending) and len(core) > len(ending) + 1:
            return core[: -len(ending)]
    return core


def chapter_topic(title: str) -> str:
    """「第三章 社会与社会运行」 → 「社会与社会运行」."""
    return CHAPTER_PREFIX.sub("", title).strip() or title


def subject_themes(course_name: str) -> list[str]:
    """The first pool one of whose keywords the course name contains (pools are
    space-separated strings to keep the vocabulary readable)."""
    for keywords, themes in SUBJECT_THEMES:
        if any(keyword in course_name for keyword in keywords.split()):
            return themes.split()
    return GENERIC_THEMES.split()


def outline_generate(course_name: str, rng: random.Random) -> tuple[str, ...]:
    """A textbook-like outline of 8–12 chapters: overview, themes in order, a closing chapter."""
    core = course_core(course_name)
    count = rng.randint(*CHAPTERS_PER_GENERATED_OUTLINE)
    themes = subject_themes(course_name)
    # Sample positions, not themes, so the chosen chapters keep the pool's order.
    picked = sorted(rng.sample(range(len(themes)), count - 2))
    topics = [f"{core}概述", *(themes[index] for index in picked), rng.choice(CLOSING_THEMES)]
    return tuple(
        f"第{chapter_numeral(number)}章 {topic.format(core=core)}"
        for number, topic in enumerate(topics, start=1)
    )


def knowledge_points(topic: str) -> tuple[str, ...]:
    """Short topic names from a chapter title: its parts, then aspects of them
    (「会计要素与会计等式」 → 会计要素, 会计等式, 会计要素的作用, 会计等式的基本原理)."""
    parts = [part.strip() for part in re.split(r"[与和及、，,：:]|以及", topic) if part.strip()]
    parts = parts or [topic]
    aspects = [
        f"{parts[index % len(parts)]}{ASPECTS[(len(topic) + index) % len(ASPECTS)]}"
        for index in range(max(2, 4 - len(parts)))
    ]
    return tuple(dict.fromkeys([*parts, *aspects]))


def resource_counts(chapter_total: int, rng: random.Random) -> list[int]:
    """Resources per chapter: a few each, varied, summing to exactly RESOURCE_TOTAL."""
    low, high = RESOURCES_PER_CHAPTER
    if not low * chapter_total <= RESOURCE_TOTAL <= high * chapter_total:
        raise ValueError(f"{chapter_total} chapters cannot hold {RESOURCE_TOTAL} resources")
    counts = [rng.randint(low + 1, high - 1) for _ in range(chapter_total)]
    # Move the sum onto the target one resource at a time, on random chapters
    # that still have room, so the spread stays natural.
    while (difference := RESOURCE_TOTAL - sum(counts)) != 0:
        step = 1 if difference > 0 else -1
        index = rng.randrange(chapter_total)
        if low <= counts[index] + step <= high:
            counts[index] += step
    return counts


def resource_kinds(count: int, rng: random.Random) -> list[str]:
    """A chapter's kit: a lecture video, notes and an exercise set, then a weighted mix."""
    core = [ResourceType.VIDEO, ResourceType.DOCUMENT, ResourceType.EXERCISE_SET][:count]
    types = list(RESOURCE_KINDS)
    weights = [RESOURCE_KINDS[kind][0] for kind in types]
    return [*core, *rng.choices(types, weights=weights, k=count - len(core))]


def resources_generate(
    *, course_code: str, course_name: str, number: int, title: str, count: int, rng: random.Random
) -> tuple[ResourceSpec, ...]:
    """One chapter's resources. The first of each type takes that type's main
    template (「… · 重点精讲视频」, 「…：课程讲义」); later ones take another."""
    topic = chapter_topic(title)
    # 「第三章」 from 「第三章 社会与社会运行」, 「导论」 from 「导论 美学是什么」.
    label = title[: len(title) - len(topic)].strip() or f"第{chapter_numeral(number)}章"
    points = knowledge_points(topic)
    used: dict[str, list[int]] = {}
    specs = []
    for position, kind in enumerate(resource_kinds(count, rng), start=1):
        templates = RESOURCE_KINDS[kind][1]
        taken = used.setdefault(kind, [])
        fresh = [index for index in range(len(templates)) if index not in taken]
        template_index = 0 if not taken else rng.choice(fresh or range(len(templates)))
        taken.append(template_index)
        resource_title = templates[template_index].format(
            topic=topic, chapter=title, n=rng.choice((10, 15, 20, 30, 40))
        )
        picked = rng.sample(range(len(points)), rng.randint(2, min(4, len(points))))
        chosen = tuple(points[index] for index in sorted(picked))
        summary = SUMMARIES[kind].format(
            course=course_name, number=label, topic=topic, points="、".join(chosen)
        )
        difficulty = rng.choices((1, 2, 3, 4, 5), weights=(10, 30, 35, 18, 7))[0]
        if kind == ResourceType.EXERCISE_SET:
            difficulty = min(5, difficulty + 1)  # exercises run a little harder than notes
        duration = None
        if kind == ResourceType.VIDEO:
            duration = rng.randrange(300, 1800, 15)
        elif kind == ResourceType.AUDIO:
            duration = rng.randrange(180, 900, 15)
        items = "".join(f"<li>{point}</li>" for point in chosen)
        specs.append(
            ResourceSpec(
                import_key=f"demo:{course_code}:{number}:{position}",
                title=resource_title,
                resource_type=str(kind),
                summary=summary,
                body=f"<p>{summary}</p><h3>知识点</h3><ul>{items}</ul>",
                knowledge_points=chosen,
                difficulty=difficulty,
                duration_seconds=duration,
                external_url=(
                    f"{DEMO_URL_BASE}/courses/{course_code}/chapters/{number}/{position}"
                    if kind == ResourceType.LINK
                    else ""
                ),
            )
        )
    return tuple(specs)


def demo_plan(catalog: dict[str, Any], seed: int = DEMO_SEED) -> DemoPlan:
    """Every course's outline (real where the catalogue has one) and every chapter's resources."""
    courses = sorted(catalog["courses"], key=lambda course: course["code"])
    outlines: dict[str, tuple[str, ...]] = {}
    for course in courses:
        # One generator per course: a change to one course leaves the others as they were.
        course_rng = random.Random(f"{seed}:outline:{course['code']}")
        outlines[course["code"]] = tuple(course["chapters"]) or outline_generate(
            course["name"], course_rng
        )
    names = {course["code"]: course["name"] for course in courses}
    slots = [
        (code, number, title)
        for code, titles in outlines.items()
        for number, title in enumerate(titles, start=1)
    ]
    counts = resource_counts(len(slots), random.Random(f"{seed}:counts"))
    chapters = tuple(
        ChapterSpec(
            course_code=code,
            number=number,
            title=title,
            resources=resources_generate(
                course_code=code,
                course_name=names[code],
                number=number,
                title=title,
                count=count,
                rng=random.Random(f"{seed}:resources:{code}:{number}"),
            ),
        )
        for (code, number, title), count in zip(slots, counts, strict=True)
    )
    first_chapters = {chapter.course_code: chapter for chapter in chapters if chapter.number == 1}

    def first_video_key(code: str) -> str:
        return next(
            spec.import_key
            for spec in first_chapters[code].resources
            if spec.resource_type == ResourceType.VIDEO
        )

    return DemoPlan(
        outlines=outlines,
        chapters=chapters,
        reuses=tuple(
            (first_video_key(source), target, 1) for source, target in CROSS_COLLEGE_REUSE
        ),
        video_clip_keys=tuple(first_video_key(code) for code in VIDEO_CLIP_COURSES),
    )


@dataclass(frozen=True)
class DemoUser:
    username: str
    description: str
    is_superuser: bool = False
    group_name: str | None = None  # a group named outright (the network admins)
    institution_code: str | None = None  # …or one of an institution's two groups
    role: str | None = None  # "editor" or "reviewer"


DEMO_USERS = (
    DemoUser("admin", "superuser", is_superuser=True),
    DemoUser("netadmin", "network administrator (all colleges)", group_name=NETWORK_ADMINS_GROUP),
    DemoUser("editor_ahkfdx", "editor, 安徽开放大学", institution_code="ahkfdx", role="editor"),
    DemoUser(
        "reviewer_ahkfdx", "reviewer, 安徽开放大学", institution_code="ahkfdx", role="reviewer"
    ),
    DemoUser(
        "editor_ahsmzy", "editor, 安徽商贸职业技术学院", institution_code="ahsmzy", role="editor"
    ),
)


@transaction.atomic
def demo_users_ensure(*, password: str = DEMO_PASSWORD) -> list[DemoUser]:
    """The demo logins, each in its group. An existing user keeps its password,
    so a re-run neither changes a row nor undoes a password someone changed."""
    user_model = get_user_model()
    for demo_user in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=demo_user.username,
            defaults={
                "is_superuser": demo_user.is_superuser,
                "is_staff": demo_user.is_superuser,
                "email": f"{demo_user.username}@example.edu.cn",
            },
        )
        if created:
            user.set_password(password)
            user.save(update_fields=["password"])
        if demo_user.group_name is not None:
            user.groups.add(Group.objects.get(name=demo_user.group_name))
        if demo_user.institution_code is not None:
            institution = Institution.objects.get(code=demo_user.institution_code)
            editors, reviewers = college_groups(institution)
            user.groups.add(editors if demo_user.role == "editor" else reviewers)
    return list(DEMO_USERS)
