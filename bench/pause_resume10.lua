-- wrk script: pauses and resumes windows of 10 jobs, so that every request changes 10 tasks
-- (10 journal records). Used by bench/http_durable.sh, which writes the fleet and the id file.
--
-- The ids are read from the file named by TASKORCH_IDS (one per line, every task running),
-- split between the wrk threads (TASKORCH_WRK_THREADS, default 1) into windows of 10. A
-- thread's request i goes to its window i mod W: a batch-pause-task in even rounds, a
-- batch-retry-task (the resume) in odd ones. With more windows than connections, a window's
-- pause is answered before its resume is sent (a request is made only when a connection is
-- free, so at most `connections` requests are in flight), so no request is a no-op.
-- The URL is the project's jobs path: http://HOST:PORT/v3/PROJECT/jobs/

local counter = 0
function setup(thread)
  thread:set("thread_number", counter)
  counter = counter + 1
end

local pauses, resumes, windows, sent, headers = {}, {}, 0, 0, {}

function init(args)
  local ids = {}
  for line in io.lines(os.getenv("TASKORCH_IDS")) do ids[#ids + 1] = line end
  local threads = tonumber(os.getenv("TASKORCH_WRK_THREADS") or "1")
  windows = math.floor(#ids / threads / 10)
  local first = thread_number * windows * 10
  for w = 1, windows do
    local pause_items, resume_items = {}, {}
    for j = 1, 10 do
      local id = ids[first + (w - 1) * 10 + j]
      pause_items[j] = '{"job_id":"' .. id .. '","pause_mode":"target"}'
      resume_items[j] = '{"job_id":"' .. id .. '"}'
    end
    pauses[w] = '{"jobs":[' .. table.concat(pause_items, ",") .. ']}'
    resumes[w] = '{"jobs":[' .. table.concat(resume_items, ",") .. ']}'
  end
  headers["Content-Type"] = "application/json"
  headers["X-Auth-Token"] = os.getenv("TASKORCH_TOKEN") or "bench-token"
end

function request()
  local w = sent % windows + 1
  local pause = math.floor(sent / windows) % 2 == 0
  sent = sent + 1
  if pause then
    return wrk.format("POST", wrk.path .. "batch-pause-task", headers, pauses[w])
  end
  return wrk.format("POST", wrk.path .. "batch-retry-task", headers, resumes[w])
end
