"""The fault suite (issue 11): outages rehearsed with localcloud's faults, each scenario ending with
the whole rollup table compared against Decimal totals computed from the lake files."""
