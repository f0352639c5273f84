-- Q7: the round trip a trivial query takes (response time).
SELECT now() AS server_time, version() AS server_version
