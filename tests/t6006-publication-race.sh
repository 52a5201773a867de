#!/bin/sh
# A transaction that wrote to a table before the table joined the
# publication, still open when a shape on the table takes its snapshot:
# pgoutput decodes changes with the catalog of the moment they were
# written, so those changes are not published, and the snapshot does not
# see them either. Shape creation waits for the table's writers after
# route's mark (lib/pgq.c, ss_pgq_wait_writers); without that
# wait the client below keeps the old value for ever. The table is FULL
# already, so ALTER TABLE (which waits for them too) does not run. Every
# creation waits, not only the one that added the table: a second shape
# created while the first still waits found the table published, and lost
# the writer's changes (t7100, SEED=3943567923).
. "$(dirname "$0")/lib.sh"
. "$TEST_SRC/pg.sh"
. "$TEST_SRC/serve.sh"
. "$TEST_SRC/pipeline.sh"

e2e_modules
pg_start

test_expect_success 'setup: a FULL table, not in the publication' '
	pg_psql "CREATE TABLE t (id int PRIMARY KEY, v text)" \
		"ALTER TABLE t REPLICA IDENTITY FULL" \
		"INSERT INTO t SELECT g, '\''a'\'' FROM generate_series(1, 5) g"
'
pipeline_start

. "$TEST_SRC/follow.sh"
SQL="SELECT id || '|v=' || v FROM t ORDER BY id"

test_expect_success 'a writer holds an update while the shape is created' '
	PGAPPNAME=writer psql -X -q -c "BEGIN; UPDATE t SET v = '\''b'\'' WHERE id = 1; INSERT INTO t VALUES (6, '\''c'\''); SELECT pg_sleep(4); COMMIT" >/dev/null &
	echo $! >writer.pid &&
	wait_until "the writer to hold its xid" \
		"test \"\$(pg_psql \"SELECT count(*) FROM pg_stat_activity WHERE application_name = '\''writer'\'' AND backend_xid IS NOT NULL\")\" = 1" 20 &&
	follow f1 t &&
	wait_end "$(cat writer.pid)" && rm writer.pid
'

test_expect_success 'the client ends with the writer'\''s changes' '
	wait_rows f1 "$SQL" &&
	grep -q "^1|v=b$" f1 && grep -q "^6|v=c$" f1 &&
	test_eq 0 "$(refetches f1)"
'

test_expect_success 'and follows later writes' '
	pg_psql "UPDATE t SET v = '\''d'\'' WHERE id = 2" &&
	wait_rows f1 "$SQL"
'

test_expect_success 'setup: a second table, not in the publication' '
	pg_psql "CREATE TABLE t2 (id int PRIMARY KEY, v text)" \
		"ALTER TABLE t2 REPLICA IDENTITY FULL" \
		"INSERT INTO t2 SELECT g, '\''a'\'' FROM generate_series(1, 5) g"
'

SQL2="SELECT id || '|v=' || v FROM t2 WHERE id > 0 ORDER BY id"
test_expect_success 'a shape created after another added the table waits too' '
	PGAPPNAME=writer2 psql -X -q -c "BEGIN; UPDATE t2 SET v = '\''b'\'' WHERE id = 1; INSERT INTO t2 VALUES (6, '\''c'\''); SELECT pg_sleep(6); COMMIT" >/dev/null &
	echo $! >writer.pid &&
	wait_until "the writer to hold its xid" \
		"test \"\$(pg_psql \"SELECT count(*) FROM pg_stat_activity WHERE application_name = '\''writer2'\'' AND backend_xid IS NOT NULL\")\" = 1" 20 &&
	follow g1 t2 &&
	wait_until "the first shape to add the table" \
		"test \"\$(pg_psql \"SELECT count(*) FROM pg_publication_tables WHERE tablename = '\''t2'\''\")\" = 1" 20 &&
	follow g2 t2 "id > 0" &&
	wait_end "$(cat writer.pid)" && rm writer.pid
'

test_expect_success 'both clients end with the writer'\''s changes' '
	wait_rows g1 "SELECT id || '\''|v='\'' || v FROM t2 ORDER BY id" &&
	wait_rows g2 "$SQL2" &&
	grep -q "^1|v=b$" g2 && grep -q "^6|v=c$" g2 &&
	test_eq 0 "$(refetches g2)"
'

test_done
