"""Which XBRL concepts feed which line item, and the corporate actions prices already carry.

Companies tag the same idea differently (and change tags over the years), so
each field lists its candidate us-gaap concepts in order of preference; the
first one a period reports wins. Revenue is the exception: several concepts
can be reported for the same period and only one is the total (BRK-B's
``RevenueFromContractWithCustomer...`` excludes insurance premiums), so the
largest reported candidate is taken.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

__all__ = [
    "ANNUAL_DAYS",
    "FLOW_CONCEPTS",
    "FLOW_FIELDS",
    "QUARTER_DAYS",
    "REVENUE_CONCEPTS",
    "SHARE_CLASS_FACTOR",
    "SPLITS",
    "Splits",
    "STOCK_CONCEPTS",
    "split_factor",
]

# Duration windows in days: 52/53-week years (NVDA, AAPL) run 364 or 371 days.
ANNUAL_DAYS: Final = (350, 380)
QUARTER_DAYS: Final = (80, 100)

REVENUE_CONCEPTS: Final = ("Revenues", "RevenueFromContractWithCustomerExcludingAssessedTax", "SalesRevenueNet")

# Duration (flow) concepts, by internal field name; additive over time, so
# quarters can be derived from cumulative year-to-date figures.
FLOW_CONCEPTS: Final[dict[str, tuple[str, ...]]] = {
    "net_income": ("NetIncomeLoss", "NetIncomeLossAvailableToCommonStockholdersBasic", "ProfitLoss"),
    "operating_income": ("OperatingIncomeLoss",),
    "gross_profit": ("GrossProfit",),
    "cost_of_revenue": ("CostOfRevenue", "CostOfGoodsAndServicesSold"),
    "research_and_development": ("ResearchAndDevelopmentExpense",),
    "interest_expense": ("InterestExpense", "InterestExpenseNonoperating", "InterestExpenseDebt"),
    "pretax_income": (
        "IncomeLossFromContinuingOperationsBeforeIncomeTaxesExtraordinaryItemsNoncontrollingInterest",
        "IncomeLossFromContinuingOperationsBeforeIncomeTaxesMinorityInterestAndIncomeLossFromEquityMethodInvestments",
    ),
    "income_tax": ("IncomeTaxExpenseBenefit",),
    "depreciation_and_amortization": ("DepreciationDepletionAndAmortization", "DepreciationAndAmortization"),
    "depreciation": ("Depreciation",),
    "amortization": ("AmortizationOfIntangibleAssets",),
    "operating_cash_flow": ("NetCashProvidedByUsedInOperatingActivities",),
    # V tags capex as PaymentsToAcquireProductiveAssets, and so does NVDA from FY2024.
    "capex_paid": ("PaymentsToAcquirePropertyPlantAndEquipment", "PaymentsToAcquireProductiveAssets"),
    "dividends_paid": ("PaymentsOfDividends", "PaymentsOfDividendsCommonStock"),
    "buybacks_paid": ("PaymentsForRepurchaseOfCommonStock",),
    "dividends_declared": ("DividendsCommonStock", "DividendsCommonStockCash", "DividendsCash"),
}

# Instant (balance-sheet) concepts: the value at the period end.
STOCK_CONCEPTS: Final[dict[str, tuple[str, ...]]] = {
    "total_assets": ("Assets",),
    "total_liabilities": ("Liabilities",),
    "liabilities_and_equity": ("LiabilitiesAndStockholdersEquity",),
    # V reports only the figure including non-controlling interests since 2014.
    "shareholders_equity": (
        "StockholdersEquity",
        "StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",
    ),
    "equity_including_nci": ("StockholdersEquityIncludingPortionAttributableToNoncontrollingInterest",),
    "current_assets": ("AssetsCurrent",),
    "current_liabilities": ("LiabilitiesCurrent",),
    "long_term_debt": ("LongTermDebt",),
    "long_term_debt_noncurrent": ("LongTermDebtNoncurrent",),
    "long_term_debt_current": ("LongTermDebtCurrent",),
    "commercial_paper": ("CommercialPaper",),
    "short_term_borrowings": ("ShortTermBorrowings",),
    "cash_and_equivalents": (
        "CashAndCashEquivalentsAtCarryingValue",
        "CashCashEquivalentsRestrictedCashAndRestrictedCashEquivalents",
    ),
    # Working capital leaves out cash, marketable securities and debt: they are financing, not operations.
    "marketable_securities": (
        "MarketableSecuritiesCurrent",
        "ShortTermInvestments",
        "AvailableForSaleSecuritiesDebtSecuritiesCurrent",
    ),
    "debt_current": ("DebtCurrent",),
    "goodwill": ("Goodwill",),
    "intangibles": ("IntangibleAssetsNetExcludingGoodwill",),
    "inventory": ("InventoryNet",),
    "shares_outstanding": ("CommonStockSharesOutstanding",),
}

# Duration concepts that are not additive: never summed or differenced.
# Basic before diluted: diluted adds shares that do not exist yet (options, RSUs).
SHARE_DURATION_CONCEPTS: Final = (
    "WeightedAverageNumberOfSharesOutstandingBasic",
    "WeightedAverageNumberOfDilutedSharesOutstanding",
)
DIVIDEND_PER_SHARE_CONCEPT: Final = "CommonStockDividendsPerShareDeclared"
DEI_SHARES_CONCEPT: Final = "EntityCommonStockSharesOutstanding"

FLOW_FIELDS: Final = ("revenue", *FLOW_CONCEPTS)

# Stock splits in the bundled price range (data README). Prices are adjusted for
# them; SEC share counts are not, until filings after the split restate them.
Splits = tuple[tuple[dt.date, float], ...]  # (effective date, new shares per old share)
SPLITS: Final[dict[str, Splits]] = {
    "AAPL": ((dt.date(2020, 8, 31), 4.0),),
    "NVDA": ((dt.date(2021, 7, 20), 4.0), (dt.date(2024, 6, 10), 10.0)),
    "TSLA": ((dt.date(2020, 8, 31), 5.0), (dt.date(2022, 8, 25), 3.0)),
    "GOOGL": ((dt.date(2022, 7, 18), 20.0),),
}

# BRK-B trades the B share; Berkshire reports average shares in Class A
# equivalents, and one A share converts into 1,500 B shares.
SHARE_CLASS_FACTOR: Final[dict[str, float]] = {"BRK-B": 1500.0}


def split_factor(ticker: str, filed: dt.date, splits: Splits | None = None) -> float:
    """Multiplier that puts a share count filed on ``filed`` on today's (adjusted-price) basis.

    Filings made after a split restate earlier counts on the new basis (GOOGL's
    10-Q filed 2022-07-27 restates 2021-12-31 as 13.2 bn shares), so the
    filing date, not the count's own date, decides which splits still apply.
    """
    factor = SHARE_CLASS_FACTOR.get(ticker, 1.0)
    for day, ratio in SPLITS.get(ticker, ()) if splits is None else splits:
        if day > filed:
            factor *= ratio
    return factor
