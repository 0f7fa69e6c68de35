"""A technician's day (issue 12): work orders swept into the store, morning cards, live updates.

- sweep: one shared `GET /work-orders?updated_after=` listing keeps `work_orders` current for
  every technician (never per person).
- cards: the morning cards (one DM message per work order starting today), held through quiet
  hours, recorded in `wo_cards` and updated in place when a status changes.
- job: when it runs (right before the morning cards; a light sweep every 30 minutes in working
  hours on days cards went out) and the pending cards flushed every few minutes.
"""

JOB_ID = "workorder-cards"
