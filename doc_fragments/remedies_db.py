# -*- coding: utf-8 -*-
# remedies: the connection and catalogue options shared by the SQL modules
# (module_utils/remedies_db.py: db_argument_spec()).

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    DOCUMENTATION = r'''
options:
  dialect:
    description:
      - Database flavour. Selects the driver (C(mysql+pymysql) or C(postgresql+psycopg2)),
        the default port and the C(<sql_root>/<dialect>) folder of named queries.
      - C(mysql) covers MariaDB as well.
    type: str
    required: true
    choices: [mysql, postgresql]
  login_host:
    description:
      - Database host.
      - Falls back to the environment variable E(REMEDIES_DB_HOST).
    type: str
    default: 127.0.0.1
  login_port:
    description:
      - Database port. Defaults to 3306 for C(mysql) and 5432 for C(postgresql).
      - Falls back to E(REMEDIES_DB_PORT).
    type: int
  login_user:
    description:
      - User to connect as. Without it the driver's default applies.
      - Falls back to E(REMEDIES_DB_USER).
    type: str
  login_password:
    description:
      - Password of O(login_user). Never logged, archived, audited or shown in messages.
      - Falls back to E(REMEDIES_DB_PASSWORD).
    type: str
  database:
    description:
      - Database (schema, in MySQL terms) to connect to.
      - Falls back to E(REMEDIES_DB_NAME).
    type: str
    required: true
  connect_timeout:
    description:
      - Seconds to wait for the connection before failing with "cannot reach database".
    type: int
    default: 5
  statement_timeout_ms:
    description:
      - Per-statement time limit in milliseconds, set on every session; C(0) means no limit.
      - PostgreSQL C(statement_timeout); MariaDB C(max_statement_time) (all statements);
        MySQL C(max_execution_time) (reads only).
    type: int
    default: 30000
  lock_timeout_ms:
    description:
      - How long a statement may wait for a row lock, in milliseconds; C(0) means no limit.
      - PostgreSQL C(lock_timeout); MySQL/MariaDB C(innodb_lock_wait_timeout) and
        C(lock_wait_timeout), rounded up to whole seconds.
    type: int
    default: 5000
  sql_root:
    description:
      - Folder of named queries, laid out as C(<sql_root>/<dialect>/<system>/<name>.sql).
      - The same folder holds C(tables.yml), the allow-list of tables that changes may
        modify (C(allowed_tables) - a list of table names).
    type: path
    required: true
  system:
    description:
      - The system whose named queries are used. Must match C(^[a-z][a-z0-9_]*$) and name an
        existing folder C(<sql_root>/<dialect>/<system>).
    type: str
    required: true
  catalog_id:
    description:
      - Catalogue entry this action belongs to (for example C(P6)). Recorded in the audit
        log and the archive.
    type: str
  audit_log:
    description:
      - File to append one JSON audit line to for every invocation, whatever its outcome.
        Its folder must exist. Secrets in params are redacted.
    type: path
notes:
  - Values are always bound as parameters; table and column names pass an allow-list and
    the dialect's quoting. Messages never contain the password or bound values.
requirements:
  - sqlalchemy >= 2.0
  - pymysql (for O(dialect=mysql))
  - psycopg2 or psycopg2-binary (for O(dialect=postgresql))
'''
