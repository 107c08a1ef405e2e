"""The Chinese pipeline shared by both backends: no server needed."""

from __future__ import annotations

from search import analysis


def test_normalize_folds_width_case_and_traditional_characters():
    assert analysis.normalize("ＪＡＶＡ語言程式 會計學") == "java语言程式 会计学"


def test_words_keep_course_names_abbreviations_and_latin_whole():
    assert "马原" in analysis.words("马原真题")
    assert "c++" in analysis.words("C++程序设计")
    assert "java" in analysis.words("Ｊａｖａ语言程序设计")
    assert {"会计", "会计学"} <= set(analysis.words("基础会计学"))


def test_bigrams_overlap_and_keep_single_characters_and_latin():
    assert analysis.bigrams("会计学 java") == ["会计", "计学", "java"]
    assert analysis.bigrams("英语（二）") == ["英语", "二"]


def test_course_codes_are_found_in_any_width():
    assert analysis.course_codes("英语 ００015") == ["00015"]
    assert analysis.course_codes("1234 123456") == []


def test_an_abbreviation_in_a_query_expands_to_its_full_name():
    query = analysis.analyse_query("馬原 真题")

    assert query.expansions == ("马克思主义基本原理概论",)
    assert "马原" in query.words


def test_suggestion_keys_cover_characters_pinyin_and_initials_of_inner_words():
    keys = set(analysis.suggest_keys("基础会计学"))

    assert {"基础", "会计", "jichu", "kuaiji", "kj", "jckj"} <= keys
    assert "jixue" not in keys  # 计学 is not a word start


def test_highlight_marks_every_match_and_escapes_html():
    snippet = analysis.highlight("<b>会计</b>要素与會計等式", ["会计"])

    assert snippet == "&lt;b&gt;<em>会计</em>&lt;/b&gt;要素与<em>會計</em>等式"


def test_highlight_is_none_without_a_match():
    assert analysis.highlight("英语（二）", ["会计"]) is None
