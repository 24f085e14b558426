"""LawBench's metrics against examples worked by hand from its evaluation functions (commit e30981bb)."""

from __future__ import annotations

import math

import pytest

from trex.bench import lawbench as law


def test_single_answer_needs_the_gold_option_alone() -> None:
    # multi_choice_judge: 'B' alone is right; 'A' and 'B' both named is wrong; no option is wrong
    assert law.choice_abcd.example("答案是B", "正确答案：B。") == 1.0
    assert law.choice_abcd.example("A或B", "正确答案：B。") == 0.0
    assert law.choice_abcde.example("[正确答案]C<eoa>", "[正确答案]C<eoa>") == 1.0  # lower-case 'eoa' is no option
    assert law.consultation.example("属于婚姻家庭纠纷", "婚姻家庭") == 1.0
    assert law.dispute_focus.example("责任认定和责任划分", "争议焦点类别：责任认定。") == 0.0


def test_option_sets_are_scored_by_f1() -> None:
    # gold {婚后有子女, 支付抚养费}; named {婚后有子女}: precision 1, recall 1/2 -> F1 2/3
    assert law.marriage_labels.example("婚后有子女", "类别:婚后有子女、支付抚养费。") == pytest.approx(2 / 3)
    # '合同诈骗' also contains the charge '诈骗': predicted {合同诈骗, 诈骗} against {合同诈骗} -> 2/3 (as in LawBench)
    assert law.accusations.example("罪名:合同诈骗", "罪名:合同诈骗") == pytest.approx(2 / 3)


def test_articles_prison_terms_and_amounts() -> None:
    assert law.articles.example("刑法第二百六十四条", "法条:刑法第264条") == 1.0
    # '第(.*?)款' is removed first and spans '第67条第三款' whole: only 264 is read
    assert law.articles.example("第264条、第67条第三款", "法条:刑法第264条") == 1.0
    assert law.articles.example("第264条、第67条", "法条:刑法第264条") == pytest.approx(2 / 3)
    # LawBench takes the first month figure: '1年6个月' reads as 6 months, not 18
    assert law.prison_term.example("判处一年六个月", "刑期:6个月") == 1.0
    assert law.prison_term.example("有期徒刑2年", "刑期:12个月") == pytest.approx(
        1 - (math.log(25) - math.log(13)) / math.log(216)
    )
    assert law.prison_term.example("无法判断", "刑期:12个月") == 0.0
    assert law.amount.example("共计8500元", "上文涉及到的犯罪金额:8500.0元。") == 1.0


def test_spans_and_rouge() -> None:
    assert law.reading.example("21万元借款", "21万元借款,律师费4000元") == pytest.approx(
        2 * 6 / (6 + 14)
    )  # 14 letters/digits in the gold
    # the entity parser reads a value up to the next space: the gold string itself scores below 1
    gold = "受害人:严某某、肖某某;被盗物品:查获手机"
    assert law.entities.example("受害人:严某某、肖某某\n被盗物品:查获手机", gold) == pytest.approx(1.0)
    assert law.entities.example(gold, gold) < 1.0
    assert law.rouge_l.example("甲乙丙", "甲丙") == pytest.approx(2 * 2 / 5)
    assert law.cn_to_digits("二百六十四条") == "264条"
