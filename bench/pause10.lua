-- wrk script: POST batch-pause-task with 10 jobs of taskorch-server's built-in demo fleet.
-- Used by bench/http_vs_nginx.sh; by hand:
--   TASKORCH_TOKEN=bench-token wrk -s bench/pause10.lua --latency \
--     http://127.0.0.1:8080/v3/054ba152d480d55b2f5dc0069e7ddef0/jobs/batch-pause-task
-- (the server started with --token bench-token:054ba152d480d55b2f5dc0069e7ddef0 and no --fleet).
-- The ten jobs are demo-project tasks that start in a pausable state (demo-0003..0007,
-- demo-0015..0018, demo-0027); pausing a paused task succeeds again, so every request is
-- answered 200 with ten "success" items.

local jobs = {
  "3c50737c-1841-4a1f-ca97-e88249ejbb95",
  "2cb1e7f2-9517-8687-7c0a-83a2799jb49f",
  "ebed8e8b-fc1a-a172-d889-b29e011jb9ee",
  "3fb4b0fa-eb70-fcbf-e8f4-dbcf731jb510",
  "bdb61d35-68ed-6c83-c09a-89a107cjb9de",
  "726e59de-81ce-0ba7-07c0-b0a339djb363",
  "030dc2e5-8a5a-e719-f691-337afe6jb108",
  "f2111a68-05b7-4b0b-cd11-b523fccjb7a4",
  "f475de51-82e0-69ce-ac45-4b08b22jb584",
  "75ca72fb-44d1-a516-62b3-e305895jb2d2",
}

local items = {}
for i, id in ipairs(jobs) do
  items[i] = '{"job_id":"' .. id .. '","pause_mode":"target"}'
end

wrk.method = "POST"
wrk.body = '{"jobs":[' .. table.concat(items, ",") .. ']}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Auth-Token"] = os.getenv("TASKORCH_TOKEN") or "bench-token"
