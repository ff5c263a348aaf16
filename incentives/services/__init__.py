"""The incentives app's rules, a module per noun: vouchers, awards, pools, issuance, thresholds, codegen,
and the CSV imports (``imports`` shared by ``voucher_import`` and ``code_import``)."""
