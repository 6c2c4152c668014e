#pragma once
// taskorch: the whole public interface in one include.
//
//   #include <taskorch/taskorch.hpp>
//   taskorch::engine eng;   // see engine.hpp

#include <taskorch/batch.hpp>
#include <taskorch/data_directory.hpp>
#include <taskorch/engine.hpp>
#include <taskorch/engine_options.hpp>
#include <taskorch/error.hpp>
#include <taskorch/file_layer.hpp>
#include <taskorch/job_id.hpp>
#include <taskorch/journal_store.hpp>
#include <taskorch/pause_mode.hpp>
#include <taskorch/project_id.hpp>
#include <taskorch/state_change.hpp>
#include <taskorch/storage_options.hpp>
#include <taskorch/task_actions.hpp>
#include <taskorch/task_event.hpp>
#include <taskorch/task_kind.hpp>
#include <taskorch/task_snapshot.hpp>
#include <taskorch/task_spec.hpp>
#include <taskorch/task_state.hpp>
#include <taskorch/transition_table.hpp>
#include <taskorch/wall_time.hpp>
