-- The dunning work queue's `retry_schedule` now holds the retries not yet run (a recorded retry
-- outcome removes the earliest), so an escalated case no longer shows a retry that already ran
-- as its next action. The rows written before hold every retry ever scheduled: the projector
-- replays the log from position 0 on the next start and writes them anew.
DELETE FROM dunning_queue_cases;
DELETE FROM projection_checkpoints WHERE name = 'dunning_queue';
