/** What a notification is about, in the order a rollout meets them; each sink subscribes to some. */
export const notificationEvents = [
  'approval-needed',
  'phase-done',
  'cluster-failed',
  'waiting-for-decision',
  'waiting-for-window',
  'rolled-back',
  'aborted',
  'failed',
  'succeeded',
] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

/** Failures, approvals needed, and how the rollout finished: what a sink hears unless it says otherwise. */
export const defaultNotificationEvents: readonly NotificationEvent[] = [
  'approval-needed',
  'cluster-failed',
  'waiting-for-decision',
  'rolled-back',
  'aborted',
  'failed',
  'succeeded',
];
