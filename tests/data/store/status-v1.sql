-- A status store written by fleet before the store had schema versions (fleet/store.py at commit 5b8c7a0):
-- two sync runs recorded by that code, then dumped with sqlite3's iterdump. Run 2 left web-c002 Degraded.
BEGIN TRANSACTION;
CREATE TABLE app_state (
    cluster TEXT NOT NULL,
    app TEXT NOT NULL,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    sync_status TEXT NOT NULL,
    health TEXT NOT NULL,
    reason TEXT NOT NULL,
    result TEXT NOT NULL,
    PRIMARY KEY (cluster, app)
);
INSERT INTO "app_state" VALUES('c001','web-c001','20261102T100000-bbbbbb','2026-11-02T10:00:05.000000Z','Synced','Healthy','Succeeded','{"name":"web-c001","cluster":"c001","project":"default","namespace":"web","appset":"","revision":"2222222222222222222222222222222222222222","sync_status":"Synced","health":"Healthy","phase":"Succeeded","reason":"Succeeded","message":"","resources":[],"started_at":"2026-11-02T10:00:00.000000Z","seconds":0.0,"attempts":1,"rollout":null,"deletion":null}');
INSERT INTO "app_state" VALUES('c002','web-c002','20261102T100000-bbbbbb','2026-11-02T10:00:05.000000Z','OutOfSync','Degraded','HealthCheckFailed','{"name":"web-c002","cluster":"c002","project":"default","namespace":"web","appset":"","revision":"2222222222222222222222222222222222222222","sync_status":"OutOfSync","health":"Degraded","phase":"Failed","reason":"HealthCheckFailed","message":"Deployment web: 0/2 replicas available","resources":[],"started_at":"2026-11-02T10:00:00.000000Z","seconds":0.0,"attempts":1,"rollout":null,"deletion":null}');
CREATE TABLE cluster_state (
    cluster TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    reachable INTEGER NOT NULL,
    reason TEXT NOT NULL,
    message TEXT NOT NULL
);
INSERT INTO "cluster_state" VALUES('c001','20261102T100000-bbbbbb','2026-11-02T10:00:05.000000Z',1,'','');
INSERT INTO "cluster_state" VALUES('c002','20261102T100000-bbbbbb','2026-11-02T10:00:05.000000Z',1,'','');
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    revision TEXT NOT NULL,
    ok INTEGER NOT NULL,
    summary TEXT NOT NULL,
    result TEXT NOT NULL
);
INSERT INTO "runs" VALUES('20261101T100000-aaaaaa','sync','2026-11-01T10:00:00.000000Z','2026-11-01T10:00:05.000000Z','1111111111111111111111111111111111111111',1,'{"clusters": 2, "clusters_failed": 0, "applications": 2, "synced": 2, "out_of_sync": 0, "unknown": 0, "healthy": 2, "degraded": 0, "progressing": 0, "objects": 0, "changed": 0, "drifted": 0, "requests": 10, "generation_errors": 0, "rollout_waiting": 0, "rollout_skipped": 0, "deleted": 0, "would_delete": 0}','{"run_id":"20261101T100000-aaaaaa","kind":"sync","started_at":"2026-11-01T10:00:00.000000Z","finished_at":"2026-11-01T10:00:05.000000Z","source":"https://git.example.com/fleet.git","revision":"1111111111111111111111111111111111111111","executor":"local","selector":"","clusters":[{"cluster":"c001","server":"","reachable":true,"reason":null,"message":"","apps":[{"name":"web-c001","cluster":"c001","project":"default","namespace":"web","appset":"","revision":"1111111111111111111111111111111111111111","sync_status":"Synced","health":"Healthy","phase":"Succeeded","reason":"Succeeded","message":"","resources":[],"started_at":"2026-11-01T10:00:00.000000Z","seconds":0.0,"attempts":1,"rollout":null,"deletion":null}],"requests":{"list":5},"seconds":0.0,"worker":""},{"cluster":"c002","server":"","reachable":true,"reason":null,"message":"","apps":[{"name":"web-c002","cluster":"c002","project":"default","namespace":"web","appset":"","revision":"1111111111111111111111111111111111111111","sync_status":"Synced","health":"Healthy","phase":"Succeeded","reason":"Succeeded","message":"","resources":[],"started_at":"2026-11-01T10:00:00.000000Z","seconds":0.0,"attempts":1,"rollout":null,"deletion":null}],"requests":{"list":5},"seconds":0.0,"worker":""}],"errors":[],"rollouts":[],"notes":[]}');
INSERT INTO "runs" VALUES('20261102T100000-bbbbbb','sync','2026-11-02T10:00:00.000000Z','2026-11-02T10:00:05.000000Z','2222222222222222222222222222222222222222',0,'{"clusters": 2, "clusters_failed": 0, "applications": 2, "synced": 1, "out_of_sync": 1, "unknown": 0, "healthy": 1, "degraded": 1, "progressing": 0, "objects": 0, "changed": 0, "drifted": 0, "requests": 10, "generation_errors": 0, "rollout_waiting": 0, "rollout_skipped": 0, "deleted": 0, "would_delete": 0}','{"run_id":"20261102T100000-bbbbbb","kind":"sync","started_at":"2026-11-02T10:00:00.000000Z","finished_at":"2026-11-02T10:00:05.000000Z","source":"https://git.example.com/fleet.git","revision":"2222222222222222222222222222222222222222","executor":"local","selector":"","clusters":[{"cluster":"c001","server":"","reachable":true,"reason":null,"message":"","apps":[{"name":"web-c001","cluster":"c001","project":"default","namespace":"web","appset":"","revision":"2222222222222222222222222222222222222222","sync_status":"Synced","health":"Healthy","phase":"Succeeded","reason":"Succeeded","message":"","resources":[],"started_at":"2026-11-02T10:00:00.000000Z","seconds":0.0,"attempts":1,"rollout":null,"deletion":null}],"requests":{"list":5},"seconds":0.0,"worker":""},{"cluster":"c002","server":"","reachable":true,"reason":null,"message":"","apps":[{"name":"web-c002","cluster":"c002","project":"default","namespace":"web","appset":"","revision":"2222222222222222222222222222222222222222","sync_status":"OutOfSync","health":"Degraded","phase":"Failed","reason":"HealthCheckFailed","message":"Deployment web: 0/2 replicas available","resources":[],"started_at":"2026-11-02T10:00:00.000000Z","seconds":0.0,"attempts":1,"rollout":null,"deletion":null}],"requests":{"list":5},"seconds":0.0,"worker":""}],"errors":[],"rollouts":[],"notes":[]}');
COMMIT;
