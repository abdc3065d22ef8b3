"""Write a realistic, valid customer import file (for measuring a large import)."""

import csv
import random
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.services.imports import CustomerImportSpec
from accounts.validators import CREDIT_CODE_ALPHABET, credit_code_check_char

CITIES = [("上海", "上海"), ("北京", "北京"), ("广东", "深圳"), ("广东", "广州"), ("浙江", "杭州"), ("江苏", "苏州")]
WORDS = ["星辰", "华信", "启明", "远航", "博源", "恒通", "瑞丰", "中科", "联创", "天成", "金桥", "智联"]
TRADES = ["科技", "制造", "贸易", "物流", "医药", "软件", "能源", "建设"]
INDUSTRIES = ["制造业", "IT与软件", "互联网", "零售", "医疗", "物流", "能源", "教育"]
CHANNELS = ["官网", "展会", "老客户推荐", "搜索引擎", "合作伙伴", "社交媒体"]
STAGES = ["潜在", "意向", "谈判", "成交"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚"
ROLES = ["决策者", "使用者", "影响者", "采购"]
TITLES = ["总经理", "采购经理", "IT总监", "财务总监", "运营经理"]


def credit_code(rng: random.Random, n: int) -> str:
    body = "91" + f"{rng.randrange(110000, 659999):06d}" + f"{n:09d}"
    body = "".join(c if c in CREDIT_CODE_ALPHABET else "0" for c in body)
    return body + credit_code_check_char(body)


class Command(BaseCommand):
    help = "Write N valid customer rows (Chinese headers) to an .xlsx or .csv file."

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1000)
        parser.add_argument("--out", required=True, help="path ending in .xlsx or .csv")
        parser.add_argument("--owner", default="", help="username put in the owner column (blank = importer)")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args, rows, out, owner, seed, **options):
        path = Path(out)
        if path.suffix not in (".xlsx", ".csv"):
            raise CommandError("--out must end in .xlsx or .csv")
        rng = random.Random(seed)
        header = [c.zh for c in CustomerImportSpec.columns]
        keys = [c.key for c in CustomerImportSpec.columns]

        def row(n: int) -> list[str]:
            province, city = rng.choice(CITIES)
            name = f"{city}{rng.choice(WORDS)}{rng.choice(TRADES)}{n:06d}有限公司"
            values = {
                "name": name,
                "credit_code": credit_code(rng, n),
                "customer_type": "终端客户",
                "industry": rng.choice(INDUSTRIES),
                "employee_band": rng.choice(["1-49", "50-199", "200-999", "1000-4999"]),
                "annual_revenue": str(rng.randrange(100, 100000) * 10000),
                "province": province,
                "city": city,
                "founded": f"{rng.randrange(1995, 2023)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 28):02d}",
                "business_model": "ToB",
                "website": f"www.c{n}.example.com",
                "source_channel": rng.choice(CHANNELS),
                "needs": "降本增效",
                "development_plans": "",
                "budget": f"{rng.randrange(5, 500)}万",
                "stage": rng.choice(STAGES),
                "status": "活跃",
                "next_step": "电话回访",
                "owner": owner,
                "tags": rng.choice(["重点客户", "华东,新客户", "", "老客户"]),
                "contact_name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                "contact_title": rng.choice(TITLES),
                "contact_role": rng.choice(ROLES),
                "phone": f"1{rng.choice('3589')}{rng.randrange(0, 10**9):09d}",
                "email": f"contact{n}@example.com",
                "wechat": "",
            }
            return [values[k] for k in keys]

        if path.suffix == ".csv":
            with path.open("w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(header)
                for n in range(1, rows + 1):
                    writer.writerow(row(n))
        else:
            from openpyxl import Workbook

            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet("数据")
            sheet.append(header)
            for n in range(1, rows + 1):
                sheet.append(row(n))
            workbook.save(path)
        self.stdout.write(f"wrote {rows} rows to {path}")
