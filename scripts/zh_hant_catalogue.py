"""Writes locale/zh_Hant (Traditional Chinese as Hong Kong and Macao write it) from
locale/zh_Hans: every msgstr of the Simplified catalogue through OpenCC's Simplified →
Traditional (Hong Kong) conversion, then the HK/Macao wording of the terms OpenCC converts
character by character only (GLOSSARY below, reviewed by hand).

zh_Hans stays the catalogue translators edit; zh_Hant is made from it, never by hand (a
hand edit is lost at the next run: put the word in GLOSSARY instead). After changing
zh_Hans (docs/ui.md, "Translations"):

    .venv/bin/pip install -r requirements-dev.txt        # OpenCC: a tool, not a runtime need
    .venv/bin/python scripts/zh_hant_catalogue.py
    .venv/bin/python manage.py compilemessages --ignore=.venv

`--check` writes nothing and exits 1 when locale/zh_Hant is not what this script makes.
"""

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
TARGET = ROOT / "locale" / "zh_Hant" / "LC_MESSAGES" / "django.po"

# After OpenCC (s2hk): HK/Macao government and emergency-service wording where it differs from
# a character-by-character conversion. The key terms keep zh_Hans's choices, in Traditional
# characters: 事件 (incident), 預警 (alert), 互助 (mutual aid), 轄區 (jurisdiction; zh_Hans
# says 辖区, never 司法管辖区), 聯合指揮部 (joint command). Longer phrases first.
GLOSSARY: list[tuple[str, str]] = [
    ("發佈", "發布"),  # HK/Macao government notices write 發布 (新聞公報發布)
    ("用户", "用戶"),
    ("信息", "資訊"),
    ("登錄", "登入"),
    ("賬號", "帳戶"),
    ("賬户", "帳戶"),
    ("帳號", "帳戶"),
    ("默認", "預設"),
    ("設置", "設定"),
    ("搜索", "搜尋"),
    ("打印", "列印"),
    ("視頻", "影片"),
    ("鏈接", "連結"),
    ("菜單", "選單"),
    ("令牌", "權杖"),
    ("數據庫", "資料庫"),
    ("點擊", "點按"),
    ("字段", "欄位"),
    ("界面", "介面"),
    ("導入", "匯入"),
    ("導出", "匯出"),
    ("文件本身", "檔案本身"),
    ("本次運行", "本次執行"),  # a playbook's run
    ("運行", "運作"),  # a joint command at work
    ("退出登入", "登出"),
    ("用戶名", "用戶名稱"),
    ("字符", "字元"),
    ("網頁地址", "網址"),
    ("聯繫", "聯絡"),
    ("演示數據", "示範數據"),
    ("併發布", "並發布"),  # "approved and issued" (并 as "and", which OpenCC takes for 併 here)
    ("短信", "短訊"),  # SMS: Hong Kong and Macao say 短訊
    # Hong Kong and Macao quote with corner brackets.
    ("“", "「"),
    ("”", "」"),
    ("‘", "『"),
    ("’", "』"),
    ("羣", "群"),  # Hong Kong's list of standard forms (常用字字形表) writes 群
]

# The header lines that name the catalogue.
HEADER = {
    "# Liandong (联动) web UI and models, Simplified Chinese.":
        "# Liandong (聯動) web UI and models, Traditional Chinese (Hong Kong, Macao).",
    '"Language: zh_Hans\\n"': '"Language: zh_Hant\\n"',
}
NOTICE = "# Made by scripts/zh_hant_catalogue.py from locale/zh_Hans: edit zh_Hans or the script, not this file."


def to_hant(text: str, converter) -> str:
    text = converter.convert(text)
    for simple, local in GLOSSARY:
        text = text.replace(simple, local)
    return text


def quoted(value: str) -> str:
    """A .po string literal (json's escapes are the .po ones for what we hold: \\n, \\", \\\\)."""
    return json.dumps(value, ensure_ascii=False)


def convert(source: str, converter) -> str:
    """The zh_Hant catalogue: the same entries, comments and msgids as `source`; msgstr lines
    (and their continuation lines) converted; the header renamed."""
    out, in_msgstr = [], False
    for line in source.splitlines():
        if line in HEADER:
            out.append(HEADER[line])
            if line.startswith("# "):
                out.append(NOTICE)
            continue
        if line.startswith("msgstr"):
            key, _, value = line.partition(" ")
            in_msgstr = True
            text = ast.literal_eval(value)
            # The header entry is metadata, not text.
            out.append(f"{key} {quoted(to_hant(text, converter)) if text else value}")
        elif line.startswith('"') and in_msgstr:
            text = ast.literal_eval(line)
            out.append(quoted(to_hant(text, converter)))
        else:
            if not line.startswith('"'):
                in_msgstr = False
            out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    import opencc  # requirements-dev.txt

    converter = opencc.OpenCC("s2hk")
    made = convert(SOURCE.read_text(encoding="utf-8"), converter)
    if "--check" in argv:
        current = TARGET.read_text(encoding="utf-8") if TARGET.exists() else ""
        if current != made:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run scripts/zh_hant_catalogue.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(made, encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
