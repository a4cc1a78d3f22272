#!/usr/bin/env python3
"""Synthetic FOCUS 1.2 cost-and-usage CSV for tally benchmarks.

    python3 bench/gen_focus.py ROWS OUT.csv [--seed N]

Python 3 standard library only. Deterministic for a given (ROWS, --seed): same bytes every run.
The 57 FOCUS 1.2 columns in alphabetical order, header first, '\\n' line ends, empty cell = null.
About 950 bytes per row (1,000,000 rows ~ 0.95 GB), two billing months (2026-09, 2026-10), three providers
(Amazon Web Services / Microsoft / Google Cloud, all billed in USD), ~50 projects in the Tags JSON, long
resource ids, SkuPriceDetails JSON, cost columns with 0 to 15 fractional digits and occasional E-notation
(e.g. 3.52E-7), credits (negative), taxes, commitment purchases (EffectiveCost 0) and commitment-covered
usage (BilledCost 0, EffectiveCost > 0).

At the end it prints to stderr the exact sums of BilledCost, EffectiveCost, ListCost and ContractedCost,
computed with integer arithmetic on values scaled by 10^15 (never floats), e.g.

    rows=20000 bytes=19043512 seconds=0.21
    sum BilledCost=...
    sum EffectiveCost=...

Every amount written is exactly (integer / 10^scale) with scale <= 15, so those sums are exact; a reader
that parses the CSV into Decimal(38, 18) must reproduce them digit for digit.
"""
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta

COLUMNS = [
    "AvailabilityZone", "BilledCost", "BillingAccountId", "BillingAccountName", "BillingAccountType",
    "BillingCurrency", "BillingPeriodEnd", "BillingPeriodStart", "CapacityReservationId",
    "CapacityReservationStatus", "ChargeCategory", "ChargeClass", "ChargeDescription", "ChargeFrequency",
    "ChargePeriodEnd", "ChargePeriodStart", "CommitmentDiscountCategory", "CommitmentDiscountId",
    "CommitmentDiscountName", "CommitmentDiscountQuantity", "CommitmentDiscountStatus",
    "CommitmentDiscountType", "CommitmentDiscountUnit", "ConsumedQuantity", "ConsumedUnit", "ContractedCost",
    "ContractedUnitPrice", "EffectiveCost", "InvoiceId", "InvoiceIssuerName", "ListCost", "ListUnitPrice",
    "PricingCategory", "PricingCurrency", "PricingCurrencyContractedUnitPrice",
    "PricingCurrencyEffectiveCost", "PricingCurrencyListUnitPrice", "PricingQuantity", "PricingUnit",
    "ProviderName", "PublisherName", "RegionId", "RegionName", "ResourceId", "ResourceName", "ResourceType",
    "ServiceCategory", "ServiceName", "ServiceSubcategory", "SkuId", "SkuMeter", "SkuPriceDetails",
    "SkuPriceId", "SubAccountId", "SubAccountName", "SubAccountType", "Tags",
]
assert len(COLUMNS) == 57
# Columns that change per row; everything else is fixed per "profile" and pre-rendered.
SLOTS = ["BilledCost", "BillingPeriodEnd", "BillingPeriodStart", "ChargePeriodEnd", "ChargePeriodStart",
         "CommitmentDiscountQuantity", "ConsumedQuantity", "ContractedCost", "EffectiveCost", "InvoiceId",
         "ListCost", "PricingCurrencyEffectiveCost", "PricingQuantity"]
SCALE = 15                 # sums are kept as integers scaled by 10^15
POW10 = [10 ** i for i in range(SCALE + 1)]
N_PROFILES = 6000
BATCH = 20000

PROJECTS = [
    "support-assistant", "doc-search", "fraud-scoring", "churn-predictor", "code-review-bot", "sales-copilot",
    "contract-analyzer", "voice-transcribe", "image-tagging", "recsys-feed", "search-rerank", "pricing-engine",
    "demand-forecast", "kyc-verify", "claims-triage", "hr-helpdesk", "legal-summarizer", "marketing-genai",
    "translation-svc", "meeting-notes", "email-classifier", "invoice-ocr", "anomaly-detect", "supply-planner",
    "risk-radar", "compliance-bot", "knowledge-graph", "agent-platform", "eval-harness", "fine-tune-lab",
    "embedding-svc", "vector-store", "feature-store", "data-labeling", "ml-observability", "chat-widget",
    "qa-generator", "sentiment-pulse", "lead-scoring", "ad-creative", "catalog-enrich", "fleet-vision",
    "medical-coding", "patent-search", "tutor-assistant", "devops-copilot", "sql-assistant", "report-writer",
    "call-analytics", "safety-filter",
]
assert len(PROJECTS) == 50
TEAMS = ["cx-ai", "legal-knowledge", "risk-ml", "growth", "platform", "ml-platform", "data-eng", "finance-ai",
         "security", "product-ai", "ops-research", "marketing-tech"]
ENVS = ["prod", "prod", "prod", "staging", "dev"]
OWNERS = ["amelia.chen", "bruno.silva", "chloe.martin", "dmitri.ivanov", "esther.okafor", "farid.haddad",
          "greta.larsen", "hiro.tanaka", "isabel.romero", "jonas.weber"]

# (ServiceName, ServiceCategory, ServiceSubcategory, unit, consumed unit, consumed per pricing unit,
#  list price range (min, max), resource type, meter)
AWS_SERVICES = [
    ("Amazon Bedrock", "AI and Machine Learning", "Generative AI", "1K Tokens", "Tokens", 1000, (0.00025, 0.075),
     "Inference Profile", "{model} {kind} tokens"),
    ("Amazon SageMaker", "AI and Machine Learning", "Machine Learning", "Hours", "Hours", 1, (0.05, 37.7),
     "Endpoint", "ml.{inst} hosting"),
    ("Amazon Elastic Compute Cloud", "Compute", "Virtual Machines", "Hours", "Hours", 1, (0.0104, 40.96),
     "Virtual Machine", "BoxUsage:{inst}"),
    ("Amazon Simple Storage Service", "Storage", "Object Storage", "GB-Months", "GB-Months", 1, (0.004, 0.023),
     "S3 Bucket", "TimedStorage-ByteHrs"),
    ("AWS Lambda", "Compute", "Serverless Compute", "GB-Seconds", "GB-Seconds", 1,
     (0.0000133334, 0.0000166667), "Function", "Lambda-GB-Second"),
    ("Amazon Relational Database Service", "Databases", "Relational Databases", "Hours", "Hours", 1,
     (0.017, 13.92), "DB Instance", "InstanceUsage:db.{inst}"),
    ("Amazon OpenSearch Service", "Analytics", "Search", "OCU-Hours", "OCU-Hours", 1, (0.24, 0.24),
     "OpenSearch Serverless Collection", "SearchOCU"),
    ("AmazonCloudWatch", "Management and Governance", "Observability", "GB", "GB", 1, (0.5, 0.5),
     "Log Group", "DataProcessing-Bytes"),
    ("AWS Data Transfer", "Networking", "Network Infrastructure", "GB", "GB", 1, (0.01, 0.09),
     "Virtual Machine", "DataTransfer-Out-Bytes"),
]
AZ_SERVICES = [
    ("Azure OpenAI", "AI and Machine Learning", "Generative AI", "1000 Tokens", "Tokens", 1000,
     (0.00013, 0.06), "microsoft.cognitiveservices/accounts", "{model}-{kind}-glbl Tokens"),
    ("Foundry Models", "AI and Machine Learning", "Generative AI", "1000 Tokens", "Tokens", 1000,
     (0.0001, 0.03), "microsoft.cognitiveservices/accounts", "{model} {kind} glbl"),
    ("Virtual Machines", "Compute", "Virtual Machines", "Hours", "Hours", 1, (0.0104, 27.197),
     "microsoft.compute/virtualmachines", "{inst}"),
    ("Storage Accounts", "Storage", "Object Storage", "GB-Months", "GB-Months", 1, (0.00099, 0.0208),
     "microsoft.storage/storageaccounts", "Hot LRS Data Stored"),
    ("Azure AI Search", "Analytics", "Search", "Hours", "Hours", 1, (0.1, 3.36),
     "microsoft.search/searchservices", "Standard S1 Unit"),
    ("Azure Cosmos DB", "Databases", "NoSQL Databases", "Hours", "Hours", 1,
     (0.008, 0.016), "microsoft.documentdb/databaseaccounts", "100 RU/s"),
    ("Key Vault", "Security", "Secret Management", "10000 Operations", "10000 Operations", 1, (0.03, 0.03),
     "microsoft.keyvault/vaults", "Standard Operations"),
    ("Bandwidth", "Networking", "Network Infrastructure", "GB", "GB", 1, (0.02, 0.087),
     "microsoft.network/publicipaddresses", "Standard Data Transfer Out"),
]
GCP_SERVICES = [
    ("Vertex AI", "AI and Machine Learning", "Generative AI", "1000 Tokens", "Tokens", 1000, (0.0000375, 0.01),
     "aiplatform.googleapis.com/Endpoint", "{model} Text {kind} - Predictions"),
    ("Compute Engine", "Compute", "Virtual Machines", "Hours", "Hours", 1, (0.0076, 33.22),
     "compute.googleapis.com/Instance", "{inst} running in Americas"),
    ("Cloud Storage", "Storage", "Object Storage", "GiB-Months", "GiB-Months", 1, (0.004, 0.026),
     "storage.googleapis.com/Bucket", "Standard Storage US Multi-region"),
    ("BigQuery", "Analytics", "Data Processing", "TiB", "TiB", 1, (6.25, 6.25),
     "bigquery.googleapis.com/Dataset", "Analysis"),
]
MODELS = ["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4.1", "gpt-4.1-mini", "gpt-4o", "o4-mini",
          "gemini-2.5-flash", "gemini-2.5-pro", "llama-3.3-70b", "mistral-large-2", "text-embedding-3-large",
          "titan-embed-v2", "nova-pro", "command-r-plus"]
KINDS = ["input", "output", "cached input", "cache write", "batch input", "batch output"]
INSTANCES = ["p4d.24xlarge", "p5.48xlarge", "g5.12xlarge", "g6.xlarge", "m7i.2xlarge", "c7g.4xlarge",
             "r6i.8xlarge", "t3.large", "Standard_ND96asr_v4", "Standard_NC24ads_A100_v4", "Standard_D4s_v5",
             "a2-highgpu-1g", "n2-standard-8", "g2-standard-12"]
AWS_REGIONS = [("us-east-1", "US East (N. Virginia)"), ("us-west-2", "US West (Oregon)"),
               ("eu-west-1", "Europe (Ireland)"), ("eu-central-1", "Europe (Frankfurt)"),
               ("ap-northeast-1", "Asia Pacific (Tokyo)")]
AZ_REGIONS = [("eastus2", "East US 2"), ("westeurope", "West Europe"), ("swedencentral", "Sweden Central"),
              ("northeurope", "North Europe"), ("japaneast", "Japan East")]
GCP_REGIONS = [("us-central1", "Iowa"), ("europe-west4", "Netherlands"), ("asia-northeast1", "Tokyo")]


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
    """Exact E-notation text of n / 10^s, e.g. (352, 9) -> '3.52E-7'. n != 0."""
    neg = n < 0
    d = str(-n if neg else n).rstrip("0")
    exp = len(str(-n if neg else n)) - 1 - s
    m = d[0] + ("." + d[1:] if len(d) > 1 else "")
    return ("-" if neg else "") + m + "E" + str(exp)


def dec_to_scaled(x, s):
    """Float price from the tables -> integer at scale s (done once per profile, not per row)."""
    return int(round(x * 10 ** s))


class Profile:
    __slots__ = ("tmpl", "kind", "qs", "qlo", "qspan", "cmul", "lp", "cp", "ap", "ps", "amt_lo", "amt_span",
                 "amt_s", "inv")


def hexid(rng, n):
    return "".join("0123456789abcdef"[int(rng.random() * 16)] for _ in range(n))


def alnum(rng, n):
    a = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(a[int(rng.random() * len(a))] for _ in range(n))


def guid(rng):
    h = hexid(rng, 32)
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def make_accounts(rng):
    aws = [("%012d" % int(rng.random() * 1e12), "northwind-payer-%d" % i) for i in range(2)]
    az = [("%d" % (8600000 + int(rng.random() * 99999)), "Northwind EA %d" % i) for i in range(2)]
    gcp = [("%s-%s-%s" % (alnum(rng, 6), alnum(rng, 6), alnum(rng, 6)), "Northwind GCP billing")]
    return {
        "aws": (aws, [("%012d" % int(rng.random() * 1e12), "aws-%s-%d" % (t, i)) for i, t in
                      enumerate(TEAMS * 2)]),
        "azure": (az, [(guid(rng), "sub-%s-%d" % (t, i)) for i, t in enumerate(TEAMS * 2)]),
        "gcp": (gcp, [("nw-%s-%s" % (t, hexid(rng, 6)), "nw-%s" % t) for t in TEAMS]),
    }


def pick(rng, seq):
    return seq[int(rng.random() * len(seq))]


def make_profile(rng, accounts, kind):
    prov = pick(rng, ["aws", "aws", "aws", "azure", "azure", "gcp"])
    billing, subs = accounts[prov]
    ba_id, ba_name = pick(rng, billing)
    sub_id, sub_name = pick(rng, subs)
    svc = pick(rng, {"aws": AWS_SERVICES, "azure": AZ_SERVICES, "gcp": GCP_SERVICES}[prov])
    name, cat, subcat, unit, cunit, cper, (plo, phi), rtype, meter_t = svc
    model, tkind, inst = pick(rng, MODELS), pick(rng, KINDS), pick(rng, INSTANCES)
    meter = meter_t.format(model=model, kind=tkind, inst=inst)
    region_id, region_name = pick(rng, {"aws": AWS_REGIONS, "azure": AZ_REGIONS, "gcp": GCP_REGIONS}[prov])
    project = pick(rng, PROJECTS)
    team = pick(rng, TEAMS)
    rname = "%s-%s-%s" % (project, name.split()[-1].lower(), hexid(rng, 4))
    if prov == "aws":
        provider = issuer = publisher = "Amazon Web Services"
        ba_type, sub_type = "Payer Account", "Linked Account"
        rid = "arn:aws:%s:%s:%s:%s/%s/%s" % (name.split()[-1].lower(), region_id, sub_id, rtype.lower()
                                              .replace(" ", "-"), rname, hexid(rng, 12))
        sku = alnum(rng, 16)
        sku_price = "%s.%s.%s" % (sku, alnum(rng, 10), alnum(rng, 10))
        az_ = region_id + pick(rng, "abc") if cat in ("Compute", "Databases") else None
    elif prov == "azure":
        provider = issuer = publisher = "Microsoft"
        ba_type, sub_type = "Billing Account", "Subscription"
        rg = "rg-%s-%s" % (project, pick(rng, ENVS))
        rid = "/subscriptions/%s/resourcegroups/%s/providers/%s/%s" % (sub_id, rg, rtype, rname)
        sku = "DZH318Z0" + alnum(rng, 4)
        sku_price = "%s/%s/%s" % (sku, alnum(rng, 4), guid(rng))
        az_ = pick(rng, ["1", "2", "3"]) if cat == "Compute" else None
    else:
        provider = issuer = publisher = "Google Cloud"
        ba_type, sub_type = "Billing Account", "Project"
        rid = "//%s/projects/%s/locations/%s/%ss/%s-%s" % (rtype.split("/")[0], sub_id, region_id,
                                                          rtype.split("/")[1].lower(), rname, hexid(rng, 12))
        sku = "%s-%s-%s" % (alnum(rng, 4), alnum(rng, 4), alnum(rng, 4))
        sku_price = "%s/%s" % (sku, hexid(rng, 20))
        az_ = region_id + "-" + pick(rng, "abc") if cat == "Compute" else None
    r = rng.random()
    tags = None if r < 0.06 else ({} if r < 0.09 else {"project": project, "team": team, "env": pick(rng, ENVS),
                                                        "cost-center": "CC-%04d" % int(rng.random() * 9000 + 1000),
                                                        })
    if tags and rng.random() < 0.5:
        tags["owner"] = pick(rng, OWNERS)
    if tags and rng.random() < 0.1:
        del tags["project"]  # team-only (shared) resources
    details = {"x_UsageType": meter.replace(" ", "")[:40]}
    if subcat == "Virtual Machines":
        details.update({"CoreCount": pick(rng, [2, 8, 48, 96, 192]), "InstanceType": inst,
                        "GpuCount": pick(rng, [0, 1, 4, 8]), "OperatingSystem": "Linux"})
    elif cunit == "Tokens":
        details.update({"x_ModelId": model, "x_TokenKind": tkind})
    elif cat == "Storage":
        details.update({"StorageClass": pick(rng, ["Standard", "Hot", "Cool"]), "Redundancy": "Local"})
    desc = "%s, %s" % (meter, region_name)

    fixed = {
        "AvailabilityZone": az_, "BillingAccountId": ba_id, "BillingAccountName": ba_name,
        "BillingAccountType": ba_type, "BillingCurrency": "USD", "InvoiceIssuerName": issuer,
        "ProviderName": provider, "PublisherName": publisher, "PricingCurrency": "USD",
        "RegionId": region_id, "RegionName": region_name, "ResourceId": rid, "ResourceName": rname,
        "ResourceType": rtype, "ServiceCategory": cat, "ServiceName": name, "ServiceSubcategory": subcat,
        "SkuId": sku, "SkuMeter": meter, "SkuPriceDetails": json.dumps(details, separators=(",", ":")),
        "SkuPriceId": sku_price, "SubAccountId": sub_id, "SubAccountName": sub_name, "SubAccountType": sub_type,
        "Tags": None if tags is None else json.dumps(tags, separators=(",", ":")),
        "ChargeCategory": "Usage", "ChargeClass": None, "ChargeDescription": desc,
        "ChargeFrequency": "Usage-Based", "PricingCategory": "Standard", "PricingUnit": unit,
        "ConsumedUnit": cunit,
    }
    p = Profile()
    p.kind = kind
    p.inv = (str(2600000000 + int(rng.random() * 99999999)), str(2610000000 + int(rng.random() * 99999999)))
    # price scale ps and quantity scale qs with ps + qs <= 15; costs are exact products
    p.qs = pick(rng, [0, 1, 2, 3, 3])
    p.ps = min(SCALE - p.qs, pick(rng, [4, 6, 8, 10, 12]))
    lp = plo + (phi - plo) * rng.random()
    p.lp = max(1, dec_to_scaled(lp, p.ps))
    disc = pick(rng, [1.0, 1.0, 0.97, 0.95, 0.9, 0.85])
    p.cp = max(1, int(p.lp * disc))
    p.ap = p.cp
    p.cmul = cper
    # quantity range: daily cost roughly $0.05 .. $900
    hi_cost = 0.05 + 400 * rng.random() ** 4
    qhi = max(2, int(hi_cost / max(lp, 1e-9) * 10 ** p.qs))
    p.qlo, p.qspan = max(1, qhi // 20), max(1, qhi - qhi // 20)
    p.amt_lo = p.amt_span = p.amt_s = 0

    if kind == "committed":
        fixed.update({"CommitmentDiscountId": ("arn:aws:ec2::%s:reserved-instances/%s" % (sub_id, guid(rng))
                                               if prov == "aws" else "/providers/microsoft.capacity/"
                                               "reservationorders/%s/reservations/%s" % (guid(rng), guid(rng))),
                      "CommitmentDiscountName": "ri-%s-%s" % (inst.lower().replace("_", "-"), hexid(rng, 4)),
                      "CommitmentDiscountCategory": "Usage", "CommitmentDiscountType": "Reserved Instance",
                      "CommitmentDiscountUnit": unit, "CommitmentDiscountStatus": "Used",
                      "PricingCategory": "Committed"})
        p.ap = max(1, int(p.cp * pick(rng, [0.55, 0.62, 0.7])))   # amortised rate, same scale
    elif kind == "tiny":  # E-notation amounts: price ~1E-7, a handful of requests
        fixed.update({"PricingUnit": "Requests", "ConsumedUnit": "Requests", "SkuMeter": "Requests-Tier2"})
        p.qs, p.ps = 0, 10
        p.lp = p.cp = p.ap = pick(rng, [352, 400, 1000, 2750])   # 3.52E-8 .. 2.75E-7 per request
        p.qlo, p.qspan, p.cmul = 1, 40, 1
    elif kind in ("credit", "tax", "purchase"):
        for c in ("PricingUnit", "ConsumedUnit", "SkuPriceDetails"):
            fixed[c] = None
        fixed["ChargeFrequency"] = "One-Time" if kind != "tax" else "Recurring"
        fixed["ChargeCategory"] = {"credit": "Credit", "tax": "Tax", "purchase": "Purchase"}[kind]
        fixed["PricingCategory"] = None
        if kind != "purchase":
            fixed.update({"SkuId": None, "SkuPriceId": None, "SkuMeter": None, "ResourceId": None,
                          "ResourceName": None, "ResourceType": None, "AvailabilityZone": None, "Tags": None})
        fixed["ChargeDescription"] = {"credit": "Promotional credit - %s" % name,
                                      "tax": "Tax for product code %s" % name.replace(" ", ""),
                                      "purchase": "Reserved capacity purchase, %s, 1 year, all upfront" % inst}[kind]
        p.amt_s = pick(rng, [2, 2, 4, 6, 10])
        p.amt_lo = dec_to_scaled(0.01, p.amt_s)
        p.amt_span = dec_to_scaled({"credit": 500, "tax": 300, "purchase": 6000}[kind], p.amt_s)
        if kind == "purchase":
            fixed.update({"PricingUnit": "Units", "CommitmentDiscountId": "cd-" + guid(rng),
                          "CommitmentDiscountName": "commit-" + hexid(rng, 6), "CommitmentDiscountCategory": "Spend",
                          "CommitmentDiscountType": "Savings Plan", "CommitmentDiscountUnit": "USD",
                          "PricingCategory": "Standard"})

    # unit-price columns are fixed per profile
    if kind in ("credit", "tax"):
        fixed["ListUnitPrice"] = fixed["ContractedUnitPrice"] = None
    elif kind == "purchase":
        fixed["ListUnitPrice"] = fixed["ContractedUnitPrice"] = "%s"  # = amount, filled per row
    elif kind == "tiny":
        fixed["ListUnitPrice"] = fixed["ContractedUnitPrice"] = sci_scaled(p.lp, p.ps)
    else:
        fixed["ListUnitPrice"] = fmt_scaled(p.lp, p.ps)
        fixed["ContractedUnitPrice"] = fmt_scaled(p.cp, p.ps)
    fixed["PricingCurrencyListUnitPrice"] = fixed["ListUnitPrice"]
    fixed["PricingCurrencyContractedUnitPrice"] = fixed["ContractedUnitPrice"]

    parts = []
    for c in COLUMNS:
        if c in SLOTS:
            parts.append("%s")
        else:
            v = fixed.get(c)
            parts.append("%s" if v == "%s" else csv_cell(v).replace("%", "%%"))
    p.tmpl = ",".join(parts) + "\n"
    return p


def periods():
    """Per billing month: billing period strings and a list of (ChargePeriodStart, End) pairs (daily and
    some hourly), plus the monthly span used by credits/taxes/purchases."""
    out = []
    for y, m in ((2026, 9), (2026, 10)):
        start = datetime(y, m, 1)
        end = datetime(y, m + 1, 1)
        iso = lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
        days, d = [], start
        while d < end:
            days.append((iso(d), iso(d + timedelta(days=1))))
            d += timedelta(days=1)
        hours = [(iso(start + timedelta(hours=h)), iso(start + timedelta(hours=h + 1)))
                 for h in range(0, len(days) * 24)]
        out.append({"bps": iso(start), "bpe": iso(end), "days": days, "hours": hours,
                    "month": (iso(start), iso(end))})
    return out


def generate(rows, path, seed):
    rng = random.Random(seed)
    accounts = make_accounts(rng)
    kinds = (["usage"] * 5762 + ["committed"] * 150 + ["tiny"] * 12 + ["credit"] * 30 + ["tax"] * 40 +
             ["purchase"] * 6)
    assert len(kinds) == N_PROFILES
    profiles = [make_profile(rng, accounts, k) for k in kinds]
    pers = periods()
    rnd = rng.random
    header = ",".join(COLUMNS) + "\n"

    sum_b = sum_e = sum_l = sum_c = 0
    mul = POW10
    nbytes = 0
    t0 = time.time()
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(header)
        nbytes += len(header)
        done = 0
        while done < rows:
            n = min(BATCH, rows - done)
            out = []
            app = out.append
            for _ in range(n):
                p = profiles[int(rnd() * N_PROFILES)]
                mi = 0 if rnd() < 0.48 else 1
                per = pers[mi]
                kind = p.kind
                if kind == "usage" or kind == "committed" or kind == "tiny":
                    if rnd() < 0.15:
                        cps, cpe = per["hours"][int(rnd() * len(per["hours"]))]
                    else:
                        cps, cpe = per["days"][int(rnd() * len(per["days"]))]
                    q = p.qlo + int(rnd() * p.qspan)
                    s = p.qs + p.ps
                    lc = q * p.lp
                    cc = q * p.cp
                    if kind == "committed":
                        bc, ec = 0, q * p.ap
                    else:
                        bc = ec = cc
                    qtxt = fmt_scaled(q, p.qs)
                    ctxt = fmt_scaled(q * p.cmul, p.qs) if p.cmul != 1 else qtxt
                    if kind == "tiny":
                        ltxt, ctx_, btxt = sci_scaled(lc, s), sci_scaled(cc, s), sci_scaled(bc, s)
                        etxt = btxt
                    else:
                        ltxt, ctx_ = fmt_scaled(lc, s), fmt_scaled(cc, s)
                        btxt = "0" if bc == 0 else fmt_scaled(bc, s)
                        etxt = btxt if ec == bc else fmt_scaled(ec, s)
                    cdq = qtxt if kind == "committed" else ""
                    f_ = mul[SCALE - s]
                    sum_b += bc * f_
                    sum_e += ec * f_
                    sum_l += lc * f_
                    sum_c += cc * f_
                    app(p.tmpl % (btxt, per["bpe"], per["bps"], cpe, cps, cdq, ctxt, ctx_, etxt,
                                  p.inv[mi], ltxt, etxt, qtxt))
                else:
                    cps, cpe = per["month"]
                    a = p.amt_lo + int(rnd() * p.amt_span)
                    s = p.amt_s
                    f_ = mul[SCALE - s]
                    if kind == "credit":
                        a = -a
                    at = fmt_scaled(a, s)
                    if kind == "purchase":  # BilledCost = fee, EffectiveCost 0, PricingQuantity 1
                        sum_b += a * f_
                        sum_l += a * f_
                        sum_c += a * f_
                        app(p.tmpl % (at, per["bpe"], per["bps"], cpe, cps, at, "", at, at, "0", p.inv[mi], at,
                                      at, at, "0", at, "1"))
                    else:
                        sum_b += a * f_
                        sum_e += a * f_
                        sum_l += a * f_
                        sum_c += a * f_
                        app(p.tmpl % (at, per["bpe"], per["bps"], cpe, cps, "", "", at, at, p.inv[mi], at, at, ""))
            chunk = "".join(out)
            f.write(chunk)
            nbytes += len(chunk)
            done += n
    secs = time.time() - t0
    return nbytes, secs, {"BilledCost": sum_b, "EffectiveCost": sum_e, "ListCost": sum_l, "ContractedCost": sum_c}


def canon(n):
    """Exact text of n / 10^15, trailing fractional zeros trimmed."""
    t = fmt_scaled(n, SCALE).rstrip("0").rstrip(".")
    return "0" if t in ("", "-0") else t


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    seed = 20260901
    if "--seed" in argv:
        seed = int(argv[argv.index("--seed") + 1])
        args.remove(str(seed))
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    rows, path = int(args[0]), args[1]
    if os.path.dirname(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
    nbytes, secs, sums = generate(rows, path, seed)
    print("rows=%d bytes=%d bytes_per_row=%.1f seconds=%.2f rows_per_second=%d" % (
        rows, nbytes, nbytes / max(rows, 1), secs, rows / secs if secs else 0), file=sys.stderr)
    for k in ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost"):
        print("sum %s=%s" % (k, canon(sums[k])), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
