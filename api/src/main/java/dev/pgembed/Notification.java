package dev.pgembed;

/**
 * A notification ({@code NOTIFY channel, 'payload'} or {@code pg_notify(channel, payload)}) of a channel the
 * session listens on ({@code LISTEN channel}), as PostgreSQL's NotificationResponse and pgjdbc's
 * {@code PGNotification} carry it. PostgreSQL delivers notifications when a transaction that sent them commits,
 * at the end of the call in whose output they arrive; see {@link PgEmbedded.Builder#notificationListener}.
 *
 * @param channel the channel's name
 * @param payload the payload, {@code ""} when the {@code NOTIFY} gave none
 * @param pid     the process id of the notifying backend ({@code pg_backend_pid()} of the session that sent it)
 */
public record Notification(String channel, String payload, int pid) {}
