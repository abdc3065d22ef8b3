"""Business actions of the customer archive, one module per capability:

customers (create, edit, duplicates, completeness), imports (Excel/CSV import), handover
(客户交接), merge (merging duplicate records). Views, tasks, commands and tests all call these.
"""
