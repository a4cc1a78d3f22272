#!/usr/bin/env python3
"""Synthetic AWS legacy Cost and Usage Report (CUR 1) CSV for tally benchmarks.

    python3 bench/gen_cur.py ROWS OUT.csv [--seed N]

Python 3 standard library only. Deterministic for a given (ROWS, --seed): same bytes every run.
One hourly CUR for billing period 2026-10 (payer 210987654321, 24 linked accounts), the column set and
conventions of fixtures/gen_cloud.py (`identity/…`, `bill/…`, `lineItem/…`, `product/…`, `pricing/…`,
`reservation/…`, `savingsPlan/…`, `resourceTags/…`; ISO dates with Z; empty cell = null; '\\n' line ends)
plus the columns a real export carries beside them (NormalizationFactor, Blended*, TaxType, servicecode,
RateId, TotalReservedUnits, …; the FinOps Foundation converter requires the last two). About 800 bytes per
row (1,000,000 rows ~ 0.8 GB).

Line item types: Usage (on-demand, spot), DiscountedUsage (under Reserved Instances, UnblendedCost 0),
SavingsPlanCoveredUsage and its SavingsPlanNegation, RIFee, SavingsPlanRecurringFee (hourly), Fee (RI
upfront purchases, support, Marketplace), Credit, Tax, Refund. Products: EC2 with GPU instances (p4d, p5,
g5, g6, trn1, inf2) among general-purpose ones, Bedrock token lines (input, output, cache read/write,
batch; model in product/model and in the usage type), SageMaker GPU endpoints, S3, Lambda (amounts in
E-notation), RDS, DynamoDB, CloudWatch, data transfer, NAT gateways, KMS, OpenSearch.

At the end it prints to stderr the exact sum of lineItem/UnblendedCost (all rows and per line item type),
and the EffectiveCost that tally's amortised mapping must give, with integer arithmetic on values scaled
by 10^15 (never floats), e.g.

    rows=20000 bytes=16012345 bytes_per_row=800.6 seconds=0.30
    sum lineItem/UnblendedCost=...
    sum EffectiveCost (amortised)=...
"""
import os
import random
import sys
import time
from datetime import datetime, timedelta

COLUMNS = [
    "identity/LineItemId", "identity/TimeInterval", "bill/InvoiceId", "bill/InvoicingEntity",
    "bill/BillingEntity", "bill/BillType", "bill/PayerAccountId", "bill/BillingPeriodStartDate",
    "bill/BillingPeriodEndDate", "lineItem/UsageAccountId", "lineItem/LineItemType", "lineItem/UsageStartDate",
    "lineItem/UsageEndDate", "lineItem/ProductCode", "lineItem/UsageType", "lineItem/Operation",
    "lineItem/AvailabilityZone", "lineItem/ResourceId", "lineItem/UsageAmount", "lineItem/NormalizationFactor",
    "lineItem/NormalizedUsageAmount", "lineItem/CurrencyCode", "lineItem/UnblendedRate",
    "lineItem/UnblendedCost", "lineItem/BlendedRate", "lineItem/BlendedCost", "lineItem/LineItemDescription",
    "lineItem/TaxType", "lineItem/LegalEntity", "product/ProductName", "product/instanceType", "product/model",
    "product/inference_type", "product/productFamily", "product/region", "product/location",
    "product/servicecode", "product/sku", "product/usagetype", "pricing/RateCode", "pricing/RateId",
    "pricing/currency", "pricing/publicOnDemandCost", "pricing/publicOnDemandRate", "pricing/term",
    "pricing/unit", "reservation/AmortizedUpfrontCostForUsage",
    "reservation/AmortizedUpfrontFeeForBillingPeriod", "reservation/EffectiveCost",
    "reservation/RecurringFeeForUsage", "reservation/ReservationARN", "reservation/TotalReservedUnits",
    "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod", "reservation/UnusedRecurringFee",
    "savingsPlan/SavingsPlanARN", "savingsPlan/SavingsPlanRate", "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment",
    "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod",
    "savingsPlan/RecurringCommitmentForBillingPeriod", "resourceTags/user:project", "resourceTags/user:team",
    "resourceTags/user:env", "resourceTags/aws:createdBy",
]
# Columns that change per row, in COLUMNS order; everything else is fixed per "profile" and pre-rendered.
SLOTS = [
    "identity/LineItemId", "identity/TimeInterval", "lineItem/UsageStartDate", "lineItem/UsageEndDate",
    "lineItem/UsageAmount", "lineItem/NormalizedUsageAmount", "lineItem/UnblendedCost", "lineItem/BlendedCost",
    "pricing/publicOnDemandCost", "reservation/AmortizedUpfrontCostForUsage", "reservation/EffectiveCost",
    "reservation/RecurringFeeForUsage", "reservation/UnusedAmortizedUpfrontFeeForBillingPeriod",
    "reservation/UnusedRecurringFee", "savingsPlan/SavingsPlanEffectiveCost",
    "savingsPlan/TotalCommitmentToDate", "savingsPlan/UsedCommitment",
]
assert [c for c in COLUMNS if c in SLOTS] == SLOTS and len(set(COLUMNS)) == len(COLUMNS)
SCALE = 15                 # sums are kept as integers scaled by 10^15
POW10 = [10 ** i for i in range(SCALE + 1)]
N_PROFILES = 5000
BATCH = 20000
PAYER = "210987654321"
START, END = datetime(2026, 10, 1), datetime(2026, 11, 1)
INVOICE = "EUINUS26-1000187"
INVOICE_MP = "EUINUS26-1000188"

PROJECTS = [
    "support-assistant", "doc-search", "fraud-scoring", "churn-predictor", "code-review-bot", "sales-copilot",
    "contract-analyzer", "voice-transcribe", "image-tagging", "recsys-feed", "search-rerank", "pricing-engine",
    "demand-forecast", "kyc-verify", "claims-triage", "hr-helpdesk", "legal-summarizer", "marketing-genai",
    "translation-svc", "meeting-notes", "email-classifier", "invoice-ocr", "anomaly-detect", "supply-planner",
    "risk-radar", "compliance-bot", "knowledge-graph", "agent-platform", "eval-harness", "fine-tune-lab",
]
TEAMS = ["cx-ai", "legal-knowledge", "risk-ml", "growth", "platform", "ml-platform", "data-eng", "finance-ai",
         "security", "product-ai", "ops-research", "marketing-tech"]
ENVS = ["prod", "prod", "prod", "staging", "dev"]
CREATORS = ["IAMUser:AIDAEXAMPLE0DEPLOY:deploy", "AssumedRole:AROAEXAMPLE0TERRAFORM:terraform", ""]
# (region code, usage type prefix, location)
REGIONS = [("us-east-1", "USE1", "US East (N. Virginia)"), ("us-east-1", "USE1", "US East (N. Virginia)"),
           ("us-west-2", "USW2", "US West (Oregon)"), ("eu-west-1", "EU", "EU (Ireland)"),
           ("eu-central-1", "EUC1", "EU (Frankfurt)"), ("ap-northeast-1", "APN1", "Asia Pacific (Tokyo)")]
# instance type: (on-demand $/h, normalization factor)
EC2 = {
    "p4d.24xlarge": ("32.7726", 192), "p5.48xlarge": ("98.32", 384), "g5.12xlarge": ("5.672", 96),
    "g5.xlarge": ("1.006", 8), "g6.xlarge": ("0.8048", 8), "g6e.12xlarge": ("10.49264", 96),
    "trn1.32xlarge": ("21.50", 256), "inf2.xlarge": ("0.7582", 8), "m7i.2xlarge": ("0.4032", 16),
    "c7g.4xlarge": ("0.58", 32), "r6i.8xlarge": ("2.016", 64), "t3.large": ("0.0832", 4),
    "m6g.xlarge": ("0.154", 8), "c6i.large": ("0.085", 4),
}
GPU_FAMILIES = ("p4d", "p5", "g5", "g6", "g6e", "trn1", "inf2")
# Bedrock: (model, usage-type model part, $ per 1K input, $ per 1K output)
BEDROCK = [
    ("Claude Sonnet 4.5", "Claude4.5Sonnet", "0.003", "0.015"), ("Claude Haiku 4.5", "Claude4.5Haiku", "0.001", "0.005"),
    ("Claude Opus 4.1", "Claude4.1Opus", "0.015", "0.075"), ("Nova Pro", "NovaPro", "0.0008", "0.0032"),
    ("Nova Lite", "NovaLite", "0.00006", "0.00024"), ("Llama 3.3 70B Instruct", "Llama3.3-70B", "0.00072", "0.00072"),
    ("Mistral Large 2", "MistralLarge2", "0.002", "0.006"), ("Titan Text Embeddings V2", "TitanEmbedV2", "0.00002", None),
]
KINDS_WEIGHTS = [("usage", 4040), ("discounted", 260), ("spcovered", 230), ("spneg", 230), ("spfee", 40),
                 ("rifee", 4), ("fee", 12), ("credit", 80), ("tax", 84), ("refund", 20)]
assert sum(w for _, w in KINDS_WEIGHTS) == N_PROFILES


def csv_cell(s):
    if s is None:
        return ""
    if any(ch in s for ch in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def fmt_scaled(n, s):
    """Exact plain text of n / 10^s."""
    if s == 0:
        return str(n)
    if n < 0:
        t = str(-n).rjust(s + 1, "0")
        return "-" + t[:-s] + "." + t[-s:]
    t = str(n).rjust(s + 1, "0")
    return t[:-s] + "." + t[-s:]


def sci_scaled(n, s):
    """Exact E-notation text of n / 10^s, e.g. (352, 9) -> '3.52E-7' (as CUR writes tiny amounts)."""
    if n == 0:
        return "0.0"
    neg = n < 0
    d = str(-n if neg else n).rstrip("0")
    exp = len(str(-n if neg else n)) - 1 - s
    m = d[0] + ("." + d[1:] if len(d) > 1 else "")
    return ("-" if neg else "") + m + "E" + str(exp)


def to_scaled(text):
    """'0.0832' -> (832, 4)."""
    if "." not in text:
        return int(text), 0
    a, b = text.split(".")
    return int(a + b), len(b)


def iso(d):
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


def rnd_str(rng, alphabet, n):
    return "".join(alphabet[int(rng.random() * len(alphabet))] for _ in range(n))


def hexid(rng, n):
    return rnd_str(rng, "0123456789abcdef", n)


def pick(rng, seq):
    return seq[int(rng.random() * len(seq))]


class Profile:
    __slots__ = ("tmpl", "kind", "qlo", "qspan", "qs", "rate", "rs", "od", "os_", "eff", "es", "up", "nf",
                 "hourly", "sci", "amt_lo", "amt_span", "amt_s", "fee_eff0")


def make_profile(rng, kind, accounts):
    acct = pick(rng, accounts)
    region, ut_prefix, location = pick(rng, REGIONS)
    project, team = pick(rng, PROJECTS), pick(rng, TEAMS)
    r = rng.random()
    tags = ({} if r < 0.12 else {"resourceTags/user:project": project, "resourceTags/user:team": team,
                                  "resourceTags/user:env": pick(rng, ENVS),
                                  "resourceTags/aws:createdBy": pick(rng, CREATORS)})
    if tags and rng.random() < 0.1:
        tags["resourceTags/user:project"] = ""          # shared, team-only resources
    fixed = {
        "bill/InvoiceId": INVOICE, "bill/InvoicingEntity": "Amazon Web Services, Inc.", "bill/BillingEntity": "AWS",
        "bill/BillType": "Anniversary", "bill/PayerAccountId": PAYER,
        "bill/BillingPeriodStartDate": iso(START), "bill/BillingPeriodEndDate": iso(END),
        "lineItem/UsageAccountId": acct, "lineItem/CurrencyCode": "USD", "pricing/currency": "USD",
        "lineItem/LegalEntity": "Amazon Web Services, Inc.", "product/region": region, "product/location": location,
    }
    fixed.update(tags)
    sku = rnd_str(rng, "ABCDEFGHJKLMNPQRSTUVWXYZ23456789", 16)
    p = Profile()
    p.kind, p.hourly, p.sci, p.nf, p.fee_eff0 = kind, True, False, 0, False
    p.qlo = p.qspan = p.qs = p.rate = p.rs = p.od = p.os_ = p.eff = p.es = p.up = 0
    p.amt_lo = p.amt_span = p.amt_s = 0

    def ec2(inst, term="OnDemand", spot=False):
        od, nf = EC2[inst]
        az = region + pick(rng, "abc")
        ut = "%s-%s:%s" % (ut_prefix, "SpotUsage" if spot else "BoxUsage", inst)
        if ut_prefix == "USE1":
            ut = ut[5:]                                    # us-east-1 usage types have no prefix
        fixed.update({
            "lineItem/ProductCode": "AmazonEC2", "lineItem/UsageType": ut, "lineItem/Operation": "RunInstances",
            "lineItem/AvailabilityZone": az, "lineItem/ResourceId": "i-0" + hexid(rng, 16),
            "lineItem/NormalizationFactor": str(nf), "product/ProductName": "Amazon Elastic Compute Cloud",
            "product/instanceType": inst, "product/productFamily": "Compute Instance",
            "product/servicecode": "AmazonEC2", "product/usagetype": ut, "pricing/term": term, "pricing/unit": "Hrs",
            "pricing/publicOnDemandRate": od, "product/sku": sku,
            "pricing/RateCode": "%s.%s.%s" % (sku, "JRTCKXETXF" if term == "OnDemand" else "6QCMYABX3D",
                                              "6YS6EN2CT7"),
            "pricing/RateId": str(int(rng.random() * 9e9) + 10 ** 9),
        })
        p.nf = nf
        p.od, p.os_ = to_scaled(od)
        return od

    if kind in ("usage", "discounted", "spcovered", "spneg"):
        kinds = ["ec2"] * 5 + ["bedrock"] * 4 + ["sagemaker", "s3", "lambda", "rds", "dynamodb", "cloudwatch",
                                                   "transfer", "nat", "kms", "opensearch"]
        what = pick(rng, kinds) if kind == "usage" else "ec2"
        # hourly quantity: 1 instance-hour most of the time, sometimes a fraction
        p.qs, p.qlo, p.qspan = 0, 1, 1
        if what == "ec2":
            inst = pick(rng, list(EC2))
            spot = kind == "usage" and rng.random() < 0.15
            od = ec2(inst, "OnDemand" if kind in ("usage", "spcovered", "spneg") else "Reserved", spot)
            if rng.random() < 0.2:
                p.qs, p.qlo, p.qspan = 4, 1000, 9000       # partial hours: 0.1000 .. 0.9999
            if spot:
                p.rate, p.rs = p.od * int(30 + rng.random() * 40), p.os_ + 2      # 30-70% of on-demand
                fixed["lineItem/LineItemDescription"] = "$%s per Linux/UNIX Spot Instance-hour for %s" % (
                    fmt_scaled(p.rate, p.rs), inst)
            else:
                p.rate, p.rs = p.od, p.os_
                fixed["lineItem/LineItemDescription"] = "$%s per On Demand Linux %s Instance Hour" % (od, inst)
            if kind == "discounted":
                ri = "arn:aws:ec2:%s:%s:reserved-instances/%s" % (region, acct, "%s-%s-%s-%s-%s" % (
                    hexid(rng, 8), hexid(rng, 4), hexid(rng, 4), hexid(rng, 4), hexid(rng, 12)))
                # effective hourly rate 55-70% of on-demand, part upfront part recurring, same scale
                p.es = p.os_ + 2
                p.eff = p.od * int(55 + rng.random() * 15)
                p.up = p.eff * int(30 + rng.random() * 40) // 100
                p.rate = 0
                fixed.update({"reservation/ReservationARN": ri,
                              "reservation/TotalReservedUnits": "744.0",
                              "reservation/AmortizedUpfrontFeeForBillingPeriod": fmt_scaled(p.up * 744, p.es),
                              "lineItem/LineItemDescription":
                                  "USD 0.0 hourly fee per Linux/UNIX (Amazon VPC), %s reserved instance applied" % inst})
            elif kind in ("spcovered", "spneg"):
                sp = "arn:aws:savingsplans::%s:savingsplan/%s-%s-%s-%s-%s" % (
                    PAYER, hexid(rng, 8), hexid(rng, 4), hexid(rng, 4), hexid(rng, 4), hexid(rng, 12))
                p.es = p.os_ + 2
                p.eff = p.od * int(50 + rng.random() * 25)
                fixed.update({"savingsPlan/SavingsPlanARN": sp, "savingsPlan/SavingsPlanRate": fmt_scaled(p.eff, p.es)})
                if kind == "spneg":
                    p.rate = -p.od
                    fixed["lineItem/LineItemDescription"] = "SavingsPlanNegation used by AccountId : %s and UsageSku : %s" % (acct, sku)
                    fixed["pricing/publicOnDemandRate"] = None
                else:
                    fixed["lineItem/LineItemDescription"] = "%s covered by Compute Savings Plan %s" % (inst, sp[-12:])
            fixed["lineItem/UnblendedRate"] = fixed["lineItem/BlendedRate"] = fmt_scaled(p.rate, p.rs)
        elif what == "bedrock":
            model, mpart, pin, pout = pick(rng, BEDROCK)
            token = pick(rng, ["input-tokens", "output-tokens", "input-tokens", "output-tokens",
                               "cache-read-input-token-count", "cache-write-input-token-count",
                               "input-tokens-batch", "output-tokens-batch"])
            if pout is None:
                token = "input-tokens"
            price = pout if token.startswith("output") else pin
            p.rate, p.rs = to_scaled(price)
            if "cache-read" in token:
                p.rs += 1                                   # a tenth of the input price
            elif "cache-write" in token:
                p.rate, p.rs = p.rate * 125, p.rs + 2      # 1.25x the input price
            elif token.endswith("batch"):
                p.rate, p.rs = p.rate * 5, p.rs + 1        # half price
            ut = "%s-%s-%s" % (ut_prefix, mpart, token)
            p.qs, p.qlo, p.qspan = 3, 1, int(50 + rng.random() ** 3 * 4e7)   # 1K tokens, 0.001 .. ~40,000
            fixed.update({
                "lineItem/ProductCode": "AmazonBedrock", "lineItem/UsageType": ut,
                "lineItem/Operation": "InvokeModelInference" if "batch" not in token else "InvokeModelBatch",
                "lineItem/ResourceId": "arn:aws:bedrock:%s:%s:inference-profile/us.%s" % (
                    region, acct, mpart.lower().replace(".", "-")),
                "lineItem/LineItemDescription": "%s %s per 1K tokens in %s" % (model, token.replace("-", " "), location),
                "product/ProductName": "Amazon Bedrock", "product/productFamily": "Amazon Bedrock",
                "product/model": model, "product/servicecode": "AmazonBedrock", "product/usagetype": ut,
                "product/inference_type": {"input-tokens": "Input tokens", "output-tokens": "Output tokens"}.get(token),
                "product/sku": sku, "pricing/term": "OnDemand", "pricing/unit": "1K tokens",
                "pricing/RateCode": "%s.JRTCKXETXF.6YS6EN2CT7" % sku, "pricing/publicOnDemandRate": None,
                "pricing/RateId": str(int(rng.random() * 9e9) + 10 ** 9),
            })
            p.od, p.os_ = p.rate, p.rs
        else:
            spec = {
                # what: (code, product name, family, usage type, operation, unit, price, qs, qspan, resource, scale up)
                "sagemaker": ("AmazonSageMaker", "Amazon SageMaker", "ML Instance", "Host:ml.%s" % pick(
                    rng, ["g5.2xlarge", "g5.12xlarge", "p4d.24xlarge", "m5.xlarge", "inf2.xlarge"]),
                    "RunInstance", "Hrs", pick(rng, ["1.515", "7.09", "37.688", "0.23", "0.99"]), 0, 1,
                    "arn:aws:sagemaker:%s:%s:endpoint/%s-%s" % (region, acct, project, hexid(rng, 6))),
                "s3": ("AmazonS3", "Amazon Simple Storage Service", "Storage", "TimedStorage-ByteHrs",
                       "StandardStorage", "GB-Mo", "0.023", 10, 30000000000, "%s-%s" % (project, hexid(rng, 8))),
                "lambda": ("AWSLambda", "AWS Lambda", "Serverless", "Request", "Invoke", "Requests", "0.0000002",
                           0, 400, "arn:aws:lambda:%s:%s:function:%s-%s" % (region, acct, project, hexid(rng, 4))),
                "rds": ("AmazonRDS", "Amazon Relational Database Service", "Database Instance",
                        "InstanceUsage:db.r6g.xlarge", "CreateDBInstance:0014", "Hrs", "0.519", 0, 1,
                        "arn:aws:rds:%s:%s:db:%s-pg" % (region, acct, project)),
                "dynamodb": ("AmazonDynamoDB", "Amazon DynamoDB", "Amazon DynamoDB PayPerRequest Throughput",
                             "ReadRequestUnits", "GetItem", "ReadRequestUnits", "0.000000125", 0, 2000000,
                             "arn:aws:dynamodb:%s:%s:table/%s" % (region, acct, project)),
                "cloudwatch": ("AmazonCloudWatch", "AmazonCloudWatch", "Data Payload", "DataProcessing-Bytes",
                               "PutLogEvents", "GB", "0.5", 9, 3000000000,
                               "arn:aws:logs:%s:%s:log-group:/aws/%s" % (region, acct, project)),
                "transfer": ("AWSDataTransfer", "AWS Data Transfer", "Data Transfer", "DataTransfer-Out-Bytes",
                             "PublicIP-Out", "GB", "0.09", 9, 20000000000, "i-0" + hexid(rng, 16)),
                "nat": ("AmazonVPC", "Amazon Virtual Private Cloud", "NAT Gateway", "NatGateway-Hours",
                        "NatGateway", "Hrs", "0.045", 0, 1,
                        "arn:aws:ec2:%s:%s:natgateway/nat-0%s" % (region, acct, hexid(rng, 16))),
                "kms": ("awskms", "AWS Key Management Service", "Encryption Key", "KMS-Requests", "Decrypt",
                        "Requests", "0.000003", 0, 50000, "arn:aws:kms:%s:%s:key/%s" % (region, acct, hexid(rng, 32))),
                "opensearch": ("AmazonES", "Amazon OpenSearch Service", "Amazon OpenSearch Serverless",
                               "IndexingOCU", "ESDomain", "OCU-hours", "0.24", 1, 40,
                               "arn:aws:aoss:%s:%s:collection/%s" % (region, acct, hexid(rng, 20))),
            }[what]
            code, pname, family, ut0, op, unit, price, qs, qspan, rid = spec
            ut = ut0 if ut_prefix == "USE1" else "%s-%s" % (ut_prefix, ut0)
            p.rate, p.rs = to_scaled(price)
            p.qs, p.qlo, p.qspan = qs, 1 if qspan == 1 else max(1, qspan // 50), qspan
            p.sci = what in ("lambda", "dynamodb", "kms")
            fixed.update({
                "lineItem/ProductCode": code, "lineItem/UsageType": ut, "lineItem/Operation": op,
                "lineItem/ResourceId": rid, "product/ProductName": pname, "product/productFamily": family,
                "product/servicecode": code, "product/usagetype": ut, "product/sku": sku, "pricing/term": "OnDemand",
                "pricing/unit": unit, "pricing/RateCode": "%s.JRTCKXETXF.6YS6EN2CT7" % sku,
                "pricing/RateId": str(int(rng.random() * 9e9) + 10 ** 9), "pricing/publicOnDemandRate": price,
                "lineItem/LineItemDescription": "$%s per %s %s in %s" % (price, unit, ut0, location),
            })
            if what in ("sagemaker", "rds"):
                fixed["lineItem/AvailabilityZone"] = region + pick(rng, "abc")
            p.od, p.os_ = p.rate, p.rs
        if "lineItem/UnblendedRate" not in fixed:
            fixed["lineItem/UnblendedRate"] = fixed["lineItem/BlendedRate"] = (
                sci_scaled(p.rate, p.rs) if p.sci else fmt_scaled(p.rate, p.rs))
    elif kind == "rifee":
        inst = pick(rng, [i for i in EC2 if i.split(".")[0] in GPU_FAMILIES] + ["m7i.2xlarge", "r6i.8xlarge"])
        od = ec2(inst, "Reserved")
        p.hourly = False
        ri = "arn:aws:ec2:%s:%s:reserved-instances/%s" % (region, acct, hexid(rng, 32))
        # recurring $/h (about 35% of on-demand), upfront amortised the same
        p.rate, p.rs = p.od * 35, p.os_ + 2
        p.up = p.rate
        fixed.update({"lineItem/UsageType": fixed["lineItem/UsageType"].replace("BoxUsage", "HeavyUsage"),
                      "lineItem/AvailabilityZone": None, "lineItem/ResourceId": None,
                      "lineItem/UnblendedRate": fmt_scaled(p.rate, p.rs),
                      "lineItem/BlendedRate": fmt_scaled(p.rate, p.rs),
                      "lineItem/LineItemDescription": "USD %s hourly fee per Linux/UNIX (Amazon VPC), %s instance" % (
                          fmt_scaled(p.rate, p.rs), inst),
                      "reservation/ReservationARN": ri, "reservation/TotalReservedUnits": "744.0",
                      "reservation/AmortizedUpfrontFeeForBillingPeriod": fmt_scaled(p.up * 744, p.rs),
                      "pricing/publicOnDemandRate": None})
        p.od = 0
    elif kind == "spfee":
        sp = "arn:aws:savingsplans::%s:savingsplan/%s" % (PAYER, hexid(rng, 32))
        # commitment $/h: 0.50 .. 60.00
        p.rate, p.rs = int(50 + rng.random() * 5950), 2
        fixed.update({
            "lineItem/ProductCode": "ComputeSavingsPlans", "lineItem/UsageType": "ComputeSP:1yrNoUpfront",
            "lineItem/Operation": "", "lineItem/UnblendedRate": fmt_scaled(p.rate, p.rs),
            "lineItem/BlendedRate": fmt_scaled(p.rate, p.rs),
            "lineItem/LineItemDescription": "1 year No Upfront Compute Savings Plan", "lineItem/ResourceId": sp,
            "product/ProductName": "Savings Plans for AWS Compute usage", "product/servicecode": "ComputeSavingsPlans",
            "savingsPlan/SavingsPlanARN": sp, "savingsPlan/AmortizedUpfrontCommitmentForBillingPeriod": "0.0",
            "savingsPlan/RecurringCommitmentForBillingPeriod": fmt_scaled(p.rate * 744, p.rs),
            "savingsPlan/SavingsPlanRate": fmt_scaled(p.rate, p.rs), "pricing/term": "Savings Plan",
        })
        p.qs, p.qlo, p.qspan = 0, 1, 1
    else:                                                   # fee, credit, tax, refund: monthly amounts
        p.hourly = False
        code = pick(rng, ["AmazonEC2", "AmazonBedrock", "AmazonS3", "AmazonSageMaker", "AWSLambda", "AmazonRDS"])
        names = {"AmazonEC2": "Amazon Elastic Compute Cloud", "AmazonBedrock": "Amazon Bedrock",
                 "AmazonS3": "Amazon Simple Storage Service", "AmazonSageMaker": "Amazon SageMaker",
                 "AWSLambda": "AWS Lambda", "AmazonRDS": "Amazon Relational Database Service"}
        fixed.update({"lineItem/ProductCode": code, "product/ProductName": names[code],
                      "product/servicecode": code, "product/region": None, "product/location": None})
        for k in list(tags):
            fixed[k] = None
        p.amt_s = pick(rng, [2, 2, 4, 6, 8, 10])
        hi = {"fee": 4000, "credit": 300, "tax": 150, "refund": 60}[kind]
        p.amt_lo, p.amt_span = POW10[p.amt_s] // 100, hi * POW10[p.amt_s]
        if kind == "fee":
            f = pick(rng, ["ri", "ri", "support", "marketplace"])
            if f == "ri":
                inst = pick(rng, [i for i in EC2 if i.split(".")[0] in GPU_FAMILIES])
                ri = "arn:aws:ec2:%s:%s:reserved-instances/%s" % (region, acct, hexid(rng, 32))
                fixed.update({"lineItem/UsageType": "HeavyUsage:" + inst, "lineItem/Operation": "RunInstances",
                              "lineItem/LineItemDescription": "Sign up charge for subscription: %s, planId: %d" % (
                                  ri[-12:], 2000000 + int(rng.random() * 999999)),
                              "reservation/ReservationARN": ri, "product/instanceType": inst,
                              "lineItem/ProductCode": "AmazonEC2", "product/ProductName": names["AmazonEC2"]})
                p.fee_eff0 = True
            elif f == "support":
                fixed.update({"lineItem/ProductCode": "AWSSupportBusiness", "product/ProductName": "AWS Support (Business)",
                              "product/servicecode": "AWSSupportBusiness", "lineItem/UsageType": "Dollar",
                              "lineItem/LineItemDescription": "AWS Support (Business)"})
            else:
                fixed.update({"bill/InvoiceId": INVOICE_MP, "bill/BillingEntity": "AWS Marketplace",
                              "bill/InvoicingEntity": "Amazon Web Services, Inc.",
                              "lineItem/ProductCode": "4x9kq2market%s" % hexid(rng, 6),
                              "lineItem/LegalEntity": "Anthropic, PBC", "lineItem/UsageType": "MP:Subscription",
                              "product/ProductName": "Claude for Enterprise (Amazon Bedrock Edition)",
                              "lineItem/LineItemDescription": "Annual subscription fee",
                              "product/servicecode": None})
        elif kind == "credit":
            fixed["lineItem/LineItemDescription"] = pick(rng, ["AWS Credits: Generative AI Accelerator",
                                                               "AWS Activate Credits", "Promotional credit"])
        elif kind == "tax":
            fixed.update({"lineItem/LineItemDescription": "Tax for product code %s" % code,
                          "lineItem/TaxType": pick(rng, ["VAT", "Sales Tax", "GST"])})
        else:
            fixed["lineItem/LineItemDescription"] = "Refund: %s SLA credit" % names[code]
    p.kind = kind
    fixed["lineItem/LineItemType"] = TYPE_NAMES[kind]
    parts = []
    for c in COLUMNS:
        if c in SLOTS:
            parts.append("%s")
        else:
            parts.append(csv_cell(fixed.get(c)).replace("%", "%%"))
    p.tmpl = ",".join(parts) + "\n"
    return p


TYPE_NAMES = {"usage": "Usage", "discounted": "DiscountedUsage", "spcovered": "SavingsPlanCoveredUsage",
              "spneg": "SavingsPlanNegation", "spfee": "SavingsPlanRecurringFee", "rifee": "RIFee", "fee": "Fee",
              "credit": "Credit", "tax": "Tax", "refund": "Refund"}


def generate(rows, path, seed):
    rng = random.Random(seed)
    accounts = ["%012d" % int(rng.random() * 1e12) for _ in range(23)] + ["012345678901"]
    kinds = [k for k, w in KINDS_WEIGHTS for _ in range(w)]
    profiles = [make_profile(rng, k, accounts) for k in kinds]

    hours = []
    d = START
    while d < END:
        e = d + timedelta(hours=1)
        hours.append((iso(d) + "/" + iso(e), iso(d), iso(e)))
        d = e
    month = (iso(START) + "/" + iso(END), iso(START), iso(END))
    # LineItemId: 52 lowercase base32 characters, unique per row (4 chunks of 13, the first two encode the row)
    b32 = "abcdefghijklmnopqrstuvwxyz234567"
    chunk_a = [rnd_str(rng, b32, 13) for _ in range(4096)]
    chunk_b = [rnd_str(rng, b32, 13) for _ in range(4096)]
    assert len(set(chunk_a)) == 4096 and len(set(chunk_b)) == 4096
    chunk_c = [rnd_str(rng, b32, 26) for _ in range(997)]

    rnd = rng.random
    mul = POW10
    sum_b = sum_e = 0
    by_type = {k: 0 for k in TYPE_NAMES}
    n_type = {k: 0 for k in TYPE_NAMES}
    header = ",".join(COLUMNS) + "\n"
    nbytes = 0
    t0 = time.time()
    E = ""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(header)
        nbytes += len(header)
        done = 0
        while done < rows:
            n = min(BATCH, rows - done)
            out = []
            app = out.append
            for i in range(done, done + n):
                lid = chunk_a[i & 4095] + chunk_b[(i >> 12) & 4095] + chunk_c[i % 997]
                p = profiles[int(rnd() * N_PROFILES)]
                kind = p.kind
                if kind in ("fee", "credit", "tax", "refund"):
                    a = p.amt_lo + int(rnd() * p.amt_span)
                    if kind in ("credit", "refund"):
                        a = -a
                    s = p.amt_s
                    at = fmt_scaled(a, s)
                    if kind == "fee":
                        ti_, st, en = (hours[int(rnd() * 744)][1],) * 3
                        ti_ = st + "/" + en
                    else:
                        ti_, st, en = month
                    eff, se = (0 if p.fee_eff0 else a), s
                    app(p.tmpl % (lid, ti_, st, en, "1" if kind in ("fee", "tax") else E, E, at, at, E,
                                  E, E, E, E, E, E, E, E))
                elif kind == "rifee":
                    # 744 h reserved, some unused: EffectiveCost = unused upfront + unused recurring
                    unused = int(rnd() * 200)
                    s = p.rs
                    a = 744 * p.rate
                    uu, ur = unused * p.up, unused * p.rate
                    eff, se = uu + ur, s
                    at = fmt_scaled(a, s)
                    ti_, st, en = month
                    app(p.tmpl % (lid, ti_, st, en, "744.0", str(744 * p.nf), at, at, E, E, E, E,
                                  fmt_scaled(uu, s), fmt_scaled(ur, s), E, E, E))
                elif kind == "spfee":
                    ti_, st, en = hours[int(rnd() * 744)]
                    a, s = p.rate, p.rs
                    used = a * int(rnd() * 101) // 100
                    eff, se = a - used, s
                    at = fmt_scaled(a, s)
                    app(p.tmpl % (lid, ti_, st, en, "1", E, at, at, E, E, E, E, E, E, E, at, fmt_scaled(used, s)))
                else:
                    ti_, st, en = hours[int(rnd() * 744)]
                    q = p.qlo + int(rnd() * p.qspan)
                    qt = fmt_scaled(q, p.qs)
                    nu = fmt_scaled(q * p.nf, p.qs) if p.nf else E
                    s = p.qs + p.rs
                    if kind == "usage":
                        a = q * p.rate
                        eff, se = a, s
                        at = sci_scaled(a, s) if p.sci else fmt_scaled(a, s)
                        od = at if p.od == p.rate else fmt_scaled(q * p.od, p.qs + p.os_)
                        app(p.tmpl % (lid, ti_, st, en, qt, nu, at, at, od, E, E, E, E, E, E, E, E))
                    elif kind == "discounted":
                        a = 0                                       # billed 0, amortised in EffectiveCost
                        se = p.qs + p.es
                        eff = q * p.eff
                        up = q * p.up
                        app(p.tmpl % (lid, ti_, st, en, qt, nu, "0.0", "0.0", fmt_scaled(q * p.od, p.qs + p.os_),
                                      fmt_scaled(up, se), fmt_scaled(eff, se), fmt_scaled(eff - up, se),
                                      E, E, E, E, E))
                    elif kind == "spcovered":
                        a = q * p.rate
                        at = fmt_scaled(a, s)
                        se = p.qs + p.es
                        eff = q * p.eff
                        app(p.tmpl % (lid, ti_, st, en, qt, nu, at, at, at, E, E, E, E, E, fmt_scaled(eff, se), E, E))
                    else:                                                   # spneg
                        a = q * p.rate
                        eff, se = 0, s
                        at = fmt_scaled(a, s)
                        app(p.tmpl % (lid, ti_, st, en, qt, nu, at, at, E, E, E, E, E, E, E, E, E))
                sb = a * mul[SCALE - s]
                sum_b += sb
                by_type[kind] += sb
                sum_e += eff * mul[SCALE - se]
                n_type[kind] += 1
            chunk = "".join(out)
            f.write(chunk)
            nbytes += len(chunk)
            done += n
    secs = time.time() - t0
    return nbytes, secs, sum_b, sum_e, by_type, n_type


def canon(n):
    """Exact text of n / 10^15, trailing fractional zeros trimmed."""
    t = fmt_scaled(n, SCALE).rstrip("0").rstrip(".")
    return "0" if t in ("", "-0") else t


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    seed = 20261001
    if "--seed" in argv:
        seed = int(argv[argv.index("--seed") + 1])
        args.remove(str(seed))
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    rows, path = int(args[0]), args[1]
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    nbytes, secs, sum_b, sum_e, by_type, n_type = generate(rows, path, seed)
    print("rows=%d bytes=%d bytes_per_row=%.1f seconds=%.2f rows_per_second=%d" % (
        rows, nbytes, nbytes / max(rows, 1), secs, rows / secs if secs else 0), file=sys.stderr)
    print("sum lineItem/UnblendedCost=%s" % canon(sum_b), file=sys.stderr)
    print("sum EffectiveCost (amortised)=%s" % canon(sum_e), file=sys.stderr)
    for k, name in TYPE_NAMES.items():
        print("  %-24s rows=%-8d sum lineItem/UnblendedCost=%s" % (name, n_type[k], canon(by_type[k])),
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
