"""A deterministic English -> Chinese rendering of the synthetic captions' words (no network).

The synthetic generator writes captions from a small fixed grammar; this table covers all of
its words, phrases first, so a caption comes out in Chinese characters and punctuation only.
It is word-for-word, not fluent Chinese: tests need bilingual data with the same content in
both languages, the way the users' files mix Chinese and English entries.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

PHRASES = {
    "parking lot": "停车场", "park plaza": "公园广场", "each other": "彼此", "go about": "忙于",
    "walk up to": "走向", "walks up to": "走向", "picks up": "捡起", "gets up": "站起来", "run away": "逃跑",
    "runs away": "逃跑", "running away": "逃跑", "walk away": "走开", "left to right": "从左到右",
    "right to left": "从右到左", "in the middle": "在中间", "on the left": "在左边", "on the right": "在右边",
    "switches on": "亮起", "to the ground": "倒地",
}
WORDS = {
    "a": "", "an": "", "the": "", "A": "", "An": "", "People": "人们", "Suddenly": "突然",
    "about": "关于", "abuse": "虐待", "afterwards": "之后", "against": "对抗", "anomalous": "异常的", "another": "另一个",
    "attacking": "攻击", "away": "离开", "back": "回击", "bag": "包", "black": "黑色", "blue": "蓝色", "bright": "明亮的",
    "brown": "棕色", "bursting": "爆发", "bursts": "爆发", "business": "事务", "calmly": "平静地", "car": "汽车",
    "carrying": "拿着", "dark": "深色", "each": "每个", "explosion": "爆炸", "fast": "快速", "fighting": "打架",
    "fireball": "火球", "flickers": "闪烁", "floor": "地面", "from": "从", "gets": "得到", "glow": "光芒", "go": "走",
    "grabbing": "抢夺", "green": "绿色", "grey": "灰色", "ground": "地上", "happens": "发生", "in": "穿着", "is": "是",
    "it": "它", "khaki": "卡其色", "kicking": "踢", "kicks": "踢", "knocked": "被打倒", "knocks": "打倒", "lamp": "路灯",
    "left": "左边", "lie": "躺", "lies": "躺着", "lights": "照亮", "lot": "场地", "lying": "躺在", "meet": "相遇",
    "middle": "中间", "normal": "正常的", "nothing": "没有", "of": "的", "on": "在", "orange": "橙色", "other": "其他",
    "park": "公园", "parked": "停着", "parking": "停车", "people": "人", "person": "人", "picks": "拿起", "pink": "粉色",
    "plaza": "广场", "punches": "拳头", "punching": "殴打", "red": "红色", "right": "右边", "running": "奔跑",
    "runs": "跑", "scene": "场景", "separate": "分开", "shirt": "衬衫", "shop": "商店", "silver": "银色",
    "smoke": "烟雾", "spreads": "扩散", "start": "开始", "stealing": "偷窃", "stolen": "偷来的", "street": "街道",
    "switches": "开关", "talk": "交谈", "talking": "交谈", "their": "他们的", "them": "他们", "then": "然后",
    "there": "那里", "they": "他们", "to": "到", "trading": "互相", "trousers": "裤子", "two": "两个",
    "unusual": "异常", "up": "起来", "victim": "受害者", "video": "视频", "walk": "走", "walks": "走", "warm": "温暖的",
    "while": "同时", "white": "白色", "who": "谁", "with": "带着", "yellow": "黄色", "and": "和",
    "cyan": "青色", "drives": "驶", "past": "过", "purple": "紫色", "slowly": "慢慢地", "stands": "站着",
}
PUNCTUATION = {",": "，", ".": "。", ":": "：", ";": "；", "(": "（", ")": "）"}


def to_chinese(text: str) -> str:
    """The caption word for word in Chinese (every synthetic-grammar word is in the tables)."""
    for phrase in sorted(PHRASES, key=len, reverse=True):
        text = re.sub(rf"\b{re.escape(phrase)}\b", f" {PHRASES[phrase]} ", text)
    out = []
    for token in re.findall(r"[A-Za-z]+|[^\sA-Za-z]+", text):
        if token.isascii() and token.isalpha():
            if token not in WORDS and token.lower() not in WORDS:
                raise KeyError(f"no Chinese for {token!r}; add it to the table")
            out.append(WORDS.get(token, WORDS.get(token.lower(), "")))
        else:
            out.append("".join(PUNCTUATION.get(ch, ch) for ch in token))
    return "".join(out)


def make_half_chinese(train_json: Path) -> list[dict[str, Any]]:
    """Rewrite ``train_json`` with every other entry's captions in Chinese; returns the entries."""
    entries = json.loads(train_json.read_text(encoding="utf-8"))
    for index, entry in enumerate(entries):
        if index % 2:
            entry["global_caption"] = to_chinese(entry["global_caption"])
            entry["region_captions"] = [to_chinese(c) for c in entry["region_captions"]]
    train_json.write_text(json.dumps(entries, ensure_ascii=False, indent=1), encoding="utf-8")
    return entries
