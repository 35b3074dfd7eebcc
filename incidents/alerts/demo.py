"""Demo data for `manage.py load_demo`: the CAP senders of the GBA members' warning systems.

One pattern per member at an `.example` domain (`*@zhuhai-gov.example`, `*@hk-gov.example`),
so a newcomer can post alerts as any city, and the senders of the sample documents in
tests/alerts/data. Idempotent: a registration already there is left as it is, and one that an
operator has since given to another jurisdiction is kept theirs.
"""

from config.errors import Conflict
from coordination.demo import LoadSummary
from incidents.alerts.senders import cap_sender_register

DEMO_SENDERS = [
    ("440100", "*@guangzhou-gov.example", "Guangzhou emergency systems (demo)"),
    ("440100", "forecast@prd-weather.example.org", "Pearl River Delta regional forecast (tests/alerts/data)"),
    ("440300", "*@shenzhen-gov.example", "Shenzhen emergency systems (demo)"),
    ("440400", "*@zhuhai-gov.example", "Zhuhai emergency systems (demo)"),
    ("440400", "warning@zhuhai-met.example.cn", "Zhuhai Meteorological Observatory (tests/alerts/data)"),
    ("440600", "*@foshan-gov.example", "Foshan emergency systems (demo)"),
    ("440700", "*@jiangmen-gov.example", "Jiangmen emergency systems (demo)"),
    ("441200", "*@zhaoqing-gov.example", "Zhaoqing emergency systems (demo)"),
    ("441300", "*@huizhou-gov.example", "Huizhou emergency systems (demo)"),
    ("441900", "*@dongguan-gov.example", "Dongguan emergency systems (demo)"),
    ("442000", "*@zhongshan-gov.example", "Zhongshan emergency systems (demo)"),
    ("810000", "*@hk-gov.example", "Hong Kong SAR government systems (demo)"),
    ("820000", "*@macao-gov.example", "Macao SAR government systems (demo)"),
]


def load_demo_senders(summary: LoadSummary) -> LoadSummary:
    for jurisdiction, pattern, note in DEMO_SENDERS:
        try:
            _, created = cap_sender_register(actor=None, pattern=pattern, jurisdiction=jurisdiction, note=note)
        except Conflict:
            created = False
        summary.count("CAP senders", created)
    return summary
