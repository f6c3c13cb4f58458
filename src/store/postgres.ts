/**
 * The shared Store on PostgreSQL, for many listeners and enclave managers on different hosts. The
 * work-order queue lives in the database itself: a claim takes the oldest queued row with
 * `FOR UPDATE SKIP LOCKED` and stamps a lease (without waiting for the WAL flush: a claim lost in a
 * database crash only puts its work order back in the queue); an outcome is recorded only by the
 * claim's owner in the same transaction that updates the receipt, so exactly one outcome is ever
 * stored; `LISTEN/NOTIFY` wakes managers and listeners in other processes. Migrations run at open,
 * serialised by an advisory lock.
 * Lock order everywhere is work order, then the pending counter, then receipt, so writers never deadlock.
 * A lost connection (a terminated backend, a restart or failover) costs only the calls in flight on it:
 * they fail with -32603, the pool opens new connections, and the LISTEN connection comes back by itself.
 */
import { EventEmitter } from 'node:events';
import crypto from 'node:crypto';
import pg from 'pg';
import { createLogger, type Logger } from '../log/index.js';
import { ErrorCode, ReceiptStatus, TcfError } from '../protocol/errors.js';
import { canonicalId } from '../protocol/ids.js';
import type { ReceiptCreate, ReceiptUpdate, WorkerDetails, WorkerRecord, WorkOrderRequest } from '../protocol/messages.js';
import type {
  ClaimedWorkOrder,
  KeyAnnouncement,
  KeyAnnouncementOutcome,
  NewWorkOrder,
  Page,
  ReceiptFilter,
  Store,
  StoredReceipt,
  StoredWorkOrder,
  StoreEvent,
  SubmitOutcome,
  WorkerFilter,
  WorkOrderOutcome,
  WorkOrderState,
} from './store.js';

const MIGRATIONS: readonly string[] = [
  `CREATE TABLE workers (
     worker_id text PRIMARY KEY,
     worker_type integer NOT NULL,
     organization_id text NOT NULL,
     record jsonb NOT NULL);
   CREATE INDEX workers_by_type ON workers (worker_type, worker_id);
   CREATE INDEX workers_by_org ON workers (organization_id, worker_id);
   CREATE TABLE worker_application_types (
     application_type_id text NOT NULL,
     worker_id text NOT NULL REFERENCES workers ON DELETE CASCADE,
     PRIMARY KEY (application_type_id, worker_id));
   CREATE TABLE work_orders (
     work_order_id text PRIMARY KEY,
     seq bigserial NOT NULL,
     worker_id text NOT NULL,
     requester_id text NOT NULL,
     state text NOT NULL,
     attempts integer NOT NULL DEFAULT 0,
     claimed_by text,
     lease_until bigint,
     submitted_at bigint NOT NULL,
     finished_at bigint,
     request jsonb NOT NULL,
     outcome jsonb,
     completion_update jsonb);
   CREATE INDEX work_orders_queue ON work_orders (worker_id, seq) WHERE state = 'queued';
   CREATE INDEX work_orders_claims ON work_orders (claimed_by) WHERE state = 'processing';
   CREATE INDEX work_orders_leases ON work_orders (lease_until) WHERE state = 'processing';
   CREATE TABLE pending_work_orders (only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row), count bigint NOT NULL);
   INSERT INTO pending_work_orders (count) VALUES (0);
   CREATE TABLE receipts (
     work_order_id text PRIMARY KEY,
     worker_service_id text NOT NULL,
     worker_id text NOT NULL,
     requester_id text NOT NULL,
     current_status bigint NOT NULL,
     create_params jsonb NOT NULL,
     updates jsonb NOT NULL DEFAULT '[]');
   CREATE INDEX receipts_by_service ON receipts (worker_service_id, work_order_id);
   CREATE INDEX receipts_by_worker ON receipts (worker_id, work_order_id);
   CREATE INDEX receipts_by_requester ON receipts (requester_id, work_order_id);
   CREATE INDEX receipts_by_status ON receipts (current_status, work_order_id);`,
  // Unrestricted claims get their own FIFO index; ids compare bytewise as in LMDB whatever the
  // database's collation; receipt updates move to rows of their own so an append is an insert.
  `CREATE INDEX work_orders_fifo ON work_orders (seq) WHERE state = 'queued';
   ALTER TABLE workers ALTER COLUMN worker_id TYPE text COLLATE "C";
   ALTER TABLE worker_application_types ALTER COLUMN worker_id TYPE text COLLATE "C";
   ALTER TABLE receipts ALTER COLUMN work_order_id TYPE text COLLATE "C";
   ALTER TABLE receipts ADD COLUMN update_count integer NOT NULL DEFAULT 0;
   CREATE TABLE receipt_updates (
     work_order_id text COLLATE "C" NOT NULL REFERENCES receipts,
     position integer NOT NULL,
     body jsonb NOT NULL,
     PRIMARY KEY (work_order_id, position));
   INSERT INTO receipt_updates (work_order_id, position, body)
     SELECT r.work_order_id, u.position, u.body FROM receipts r CROSS JOIN LATERAL jsonb_array_elements(r.updates) WITH ORDINALITY AS u(body, position);
   UPDATE receipts SET update_count = jsonb_array_length(updates);
   ALTER TABLE receipts DROP COLUMN updates;`,
  // Submitting and finishing a work order each become one statement, one round trip instead of five
  // or six (BEGIN, each step, COMMIT): less CPU on both sides, and the pending counter's row lock is
  // held for the function's run and the commit rather than across client round trips.
  `CREATE FUNCTION tcf_append_receipt_update(p_work_order_id text, p_update jsonb) RETURNS boolean
   LANGUAGE plpgsql AS $$
   BEGIN
     -- Under the receipt's row lock, which numbers the updates and keeps currentStatus on the last.
     WITH counted AS (
       UPDATE receipts SET update_count = update_count + 1, current_status = (p_update->>'updateType')::bigint
       WHERE work_order_id = p_work_order_id RETURNING update_count)
     INSERT INTO receipt_updates (work_order_id, position, body) SELECT p_work_order_id, update_count, p_update FROM counted;
     RETURN FOUND;
   END $$;
   CREATE FUNCTION tcf_submit_work_order(p_work_order_id text, p_worker_id text, p_requester_id text, p_submitted_at bigint,
                                         p_request jsonb, p_max_pending bigint, p_channel text) RETURNS text
   LANGUAGE plpgsql AS $$
   BEGIN
     INSERT INTO work_orders (work_order_id, worker_id, requester_id, state, submitted_at, request)
       VALUES (p_work_order_id, p_worker_id, p_requester_id, 'queued', p_submitted_at, p_request)
       ON CONFLICT (work_order_id) DO NOTHING;
     IF NOT FOUND THEN RETURN 'duplicate'; END IF;
     UPDATE pending_work_orders SET count = count + 1 WHERE count < p_max_pending;
     IF NOT FOUND THEN
       DELETE FROM work_orders WHERE work_order_id = p_work_order_id;
       RETURN 'busy';
     END IF;
     PERFORM pg_notify(p_channel, json_build_object('workOrderId', p_work_order_id, 'workerId', p_worker_id)::text);
     RETURN 'accepted';
   END $$;
   CREATE FUNCTION tcf_finish_work_order(p_work_order_id text, p_owner text, p_state text, p_outcome jsonb,
                                         p_completion_update jsonb, p_finished_at bigint, p_channel text) RETURNS boolean
   LANGUAGE plpgsql AS $$
   BEGIN
     UPDATE work_orders SET state = p_state, outcome = p_outcome, completion_update = p_completion_update,
                            claimed_by = NULL, lease_until = NULL, finished_at = p_finished_at
       WHERE work_order_id = p_work_order_id AND state = 'processing' AND claimed_by = p_owner;
     IF NOT FOUND THEN RETURN false; END IF;
     UPDATE pending_work_orders SET count = greatest(count - 1, 0);
     IF p_completion_update IS NOT NULL THEN PERFORM tcf_append_receipt_update(p_work_order_id, p_completion_update); END IF;
     PERFORM pg_notify(p_channel, json_build_object('workOrderId', p_work_order_id)::text);
     RETURN true;
   END $$;`,
  // A claim commits without waiting for its WAL flush (synchronous_commit off for that transaction
  // only): a claim lost in a database crash leaves its work order queued, to be claimed again, and the
  // finish of the lost claim then finds it no longer owns the row. Outcomes still commit durably.
  `CREATE FUNCTION tcf_claim_work_order(p_owner text, p_lease_until bigint, p_worker_ids text[]) RETURNS SETOF work_orders
   LANGUAGE plpgsql AS $$
   BEGIN
     PERFORM set_config('synchronous_commit', 'off', true);
     IF p_worker_ids IS NULL THEN
       RETURN QUERY UPDATE work_orders SET state = 'processing', attempts = attempts + 1, claimed_by = p_owner, lease_until = p_lease_until
         WHERE work_order_id = (SELECT work_order_id FROM work_orders WHERE state = 'queued' ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *;
     ELSE
       RETURN QUERY UPDATE work_orders SET state = 'processing', attempts = attempts + 1, claimed_by = p_owner, lease_until = p_lease_until
         WHERE work_order_id = (SELECT work_order_id FROM work_orders WHERE state = 'queued' AND worker_id = ANY(p_worker_ids)
                                ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
         RETURNING *;
     END IF;
   END $$;`,
  // Every encryption-key nonce and key a worker ever announced, kept apart from the worker's record so
  // that a re-registration (which replaces the record) does not make an old announcement acceptable again.
  `CREATE TABLE worker_key_history (
     worker_id text COLLATE "C" NOT NULL,
     kind text NOT NULL CHECK (kind IN ('nonce', 'key')),
     value text NOT NULL,
     PRIMARY KEY (worker_id, kind, value));`,
  // Claims read the worker's status in the statement that picks the work order: an OFF_LINE worker's
  // queue waits, and the status of any other is returned with the claim, so a manager fails the work of
  // a decommissioned or compromised worker instead of running it. The old function stays for nodes of
  // the previous version that share this database during an upgrade.
  `CREATE FUNCTION tcf_claim_work_order_with_status(p_owner text, p_lease_until bigint, p_worker_ids text[])
     RETURNS TABLE (claimed work_orders, claimed_worker_status integer)
   LANGUAGE plpgsql AS $$
   DECLARE
     v_work_order_id text;
     v_status integer;
   BEGIN
     PERFORM set_config('synchronous_commit', 'off', true);
     IF p_worker_ids IS NULL THEN
       SELECT q.work_order_id, (w.record->>'status')::integer INTO v_work_order_id, v_status
         FROM work_orders q LEFT JOIN workers w ON w.worker_id = q.worker_id COLLATE "C"
         WHERE q.state = 'queued' AND (w.record->>'status') IS DISTINCT FROM '2'
         ORDER BY q.seq LIMIT 1 FOR UPDATE OF q SKIP LOCKED;
     ELSE
       -- Off-line workers leave first, so their lanes, woken by every submission, do not scan a queue they cannot take.
       p_worker_ids := ARRAY(SELECT unnest(p_worker_ids) COLLATE "C" EXCEPT SELECT worker_id FROM workers WHERE record->>'status' = '2');
       IF cardinality(p_worker_ids) = 0 THEN RETURN; END IF;
       SELECT q.work_order_id, (w.record->>'status')::integer INTO v_work_order_id, v_status
         FROM work_orders q LEFT JOIN workers w ON w.worker_id = q.worker_id COLLATE "C"
         WHERE q.state = 'queued' AND q.worker_id = ANY(p_worker_ids) AND (w.record->>'status') IS DISTINCT FROM '2'
         ORDER BY q.seq LIMIT 1 FOR UPDATE OF q SKIP LOCKED;
     END IF;
     IF v_work_order_id IS NULL THEN RETURN; END IF;
     RETURN QUERY WITH taken AS (
         UPDATE work_orders o SET state = 'processing', attempts = o.attempts + 1, claimed_by = p_owner, lease_until = p_lease_until
           WHERE o.work_order_id = v_work_order_id RETURNING o)
       SELECT taken.o, v_status FROM taken;
   END $$;`,
  // The worker's completion update is the one receipt update no service check sees: it is appended as
  // the work order finishes, or when its receipt is created later. Under the receipt's row lock it is
  // skipped once the requester has closed the receipt (COMPLETED 1, REJECTED 4: store.ts,
  // RECEIPT_FINAL_STATUSES), so it cannot reopen one closed while the work order was queued.
  `CREATE FUNCTION tcf_append_completion_update(p_work_order_id text, p_update jsonb) RETURNS boolean
   LANGUAGE plpgsql AS $$
   DECLARE v_status bigint;
   BEGIN
     SELECT current_status INTO v_status FROM receipts WHERE work_order_id = p_work_order_id FOR UPDATE;
     IF NOT FOUND OR v_status IN (1, 4) THEN RETURN false; END IF;
     RETURN tcf_append_receipt_update(p_work_order_id, p_update);
   END $$;
   CREATE OR REPLACE FUNCTION tcf_finish_work_order(p_work_order_id text, p_owner text, p_state text, p_outcome jsonb,
                                                    p_completion_update jsonb, p_finished_at bigint, p_channel text) RETURNS boolean
   LANGUAGE plpgsql AS $$
   BEGIN
     UPDATE work_orders SET state = p_state, outcome = p_outcome, completion_update = p_completion_update,
                            claimed_by = NULL, lease_until = NULL, finished_at = p_finished_at
       WHERE work_order_id = p_work_order_id AND state = 'processing' AND claimed_by = p_owner;
     IF NOT FOUND THEN RETURN false; END IF;
     UPDATE pending_work_orders SET count = greatest(count - 1, 0);
     IF p_completion_update IS NOT NULL THEN PERFORM tcf_append_completion_update(p_work_order_id, p_completion_update); END IF;
     PERFORM pg_notify(p_channel, json_build_object('workOrderId', p_work_order_id)::text);
     RETURN true;
   END $$;`,
];

const MIGRATION_LOCK = 7_415_001;
const RECONNECT_FIRST_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/**
 * How far before a lost LISTEN connection was noticed the catch-up looks for finished work orders:
 * finished_at is stamped by the finishing manager's clock, maybe on another host, and a notification
 * can be lost a moment before the loss shows.
 */
const CATCH_UP_MARGIN_MS = 30_000;
/** Probes an idle connection, so one cut off without a word (a dead host, a dropped route) is noticed. */
const KEEPALIVE_DELAY_MS = 10_000;
/** A reconnection of the LISTEN connection that hangs (a silent network) is abandoned and tried again. */
const LISTEN_CONNECT_TIMEOUT_MS = 10_000;

/** SQLSTATE classes and codes that end the session: connection exceptions and operator intervention. */
const CONNECTION_LOST_SQLSTATE = /^(08|57P0)/;
const CONNECTION_LOST_ERRNO = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** True when the error says the connection itself is gone, as opposed to one statement failing on a live one. */
function isConnectionLoss(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const { code, severity } = error as Error & { code?: unknown; severity?: unknown };
  if (severity === 'FATAL' || severity === 'PANIC') return true;
  if (typeof code === 'string' && (CONNECTION_LOST_SQLSTATE.test(code) || CONNECTION_LOST_ERRNO.has(code))) return true;
  // node-postgres's own words for a socket that closed or a client that already saw it close.
  return /^Connection terminated|not queryable|timeout exceeded when trying to connect/.test(error.message);
}

/** What a caller is told: the cause goes to the node's log, since database details are not the requester's business. */
function storeUnavailable(): TcfError {
  return new TcfError(
    ErrorCode.INTERNAL_ERROR,
    'internal error: the store lost its database connection during this call, which may or may not have taken effect; retry it (a work order already recorded answers that it exists)',
  );
}

interface WorkOrderRow {
  work_order_id: string;
  worker_id: string;
  requester_id: string;
  state: WorkOrderState;
  attempts: number;
  claimed_by: string | null;
  lease_until: string | null;
  submitted_at: string;
  finished_at: string | null;
  request: WorkOrderRequest;
  outcome: WorkOrderOutcome | null;
  completion_update: ReceiptUpdate | null;
}

function toWorkOrder(row: WorkOrderRow): StoredWorkOrder {
  const order: StoredWorkOrder = {
    workOrderId: row.work_order_id,
    workerId: row.worker_id,
    requesterId: row.requester_id,
    request: row.request,
    submittedAt: Number(row.submitted_at),
    state: row.state,
    attempts: row.attempts,
  };
  if (row.claimed_by !== null) order.claimedBy = row.claimed_by;
  if (row.lease_until !== null) order.leaseUntil = Number(row.lease_until);
  if (row.outcome !== null) order.outcome = row.outcome;
  if (row.completion_update !== null) order.completionUpdate = row.completion_update;
  if (row.finished_at !== null) order.finishedAt = Number(row.finished_at);
  return order;
}

function quoteIdentifier(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`schema name ${JSON.stringify(name)} must be a lower-case SQL identifier`);
  return `"${name}"`;
}

export interface PostgresStoreOptions {
  /** Where TCF's tables live (created if absent). Several TCF deployments can share one database this way. */
  schema?: string;
  poolSize?: number;
  /** Where lost connections are reported (one WARN each); default a logger of its own on stderr. */
  log?: Logger;
}

export class PostgresStore implements Store {
  private readonly events = new EventEmitter();
  private readonly channels: { submitted: string; finished: string };
  private listener: pg.Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private closing = false;
  /** Set once open: until then a failure to connect is the opener's to see as it is, not a call's -32603. */
  private serving = false;
  /** Connections already reported lost: a dead one can raise several errors, and the log gets one line. */
  private readonly reportedLost = new WeakSet<pg.ClientBase>();
  /** True from a failed connection attempt until one succeeds, so an outage logs once, not once per call. */
  private unreachable = false;
  /** When the LISTEN connection was lost, until a catch-up after reconnecting has covered that gap. */
  private eventsLostAt: number | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly connectionString: string,
    private readonly log: Logger,
  ) {
    const suffix = crypto.createHash('sha256').update(schema).digest('hex').slice(0, 12);
    this.channels = { submitted: `tcf_submitted_${suffix}`, finished: `tcf_finished_${suffix}` };
    this.events.setMaxListeners(0);
  }

  /** Opens (and migrates) the store; `?schema=name` in the URL picks the schema, default `tcf`. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const parsed = new URL(url);
    const schema = options.schema ?? parsed.searchParams.get('schema') ?? 'tcf';
    parsed.searchParams.delete('schema');
    const connectionString = parsed.toString();
    const pool = new pg.Pool({
      connectionString,
      max: options.poolSize ?? 10,
      application_name: `tcf:${schema}`,
      options: `-c search_path=${quoteIdentifier(schema)}`,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
    });
    const store = new PostgresStore(pool, schema, connectionString, options.log ?? createLogger('store'));
    // A pg client emits 'error' when its connection dies, checked out or idle, and an 'error' nobody
    // listens to ends the process: every pooled connection gets a listener for its whole life.
    pool.on('connect', (client) => {
      store.unreachable = false;
      client.on('error', (error) => store.connectionLost(client, error));
    });
    // The pool's own report of an idle connection's death, already logged by the listener above.
    pool.on('error', () => undefined);
    try {
      await store.migrate();
      await store.listen();
      store.serving = true;
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  private connectionLost(client: pg.ClientBase, error: unknown, connection: 'pooled' | 'events' = 'pooled'): void {
    if (!this.serving || this.closing || this.reportedLost.has(client)) return;
    this.reportedLost.add(client);
    const { code } = error as { code?: unknown };
    this.log.warn('a PostgreSQL connection was lost; calls in flight on it fail with -32603 and a new connection replaces it', {
      connection,
      error: error instanceof Error ? error.message : String(error),
      ...(typeof code === 'string' ? { code } : {}),
    });
  }

  /** Checks a connection out for `work`; a lost connection is reported once and the caller gets -32603. */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      if (!this.serving || this.closing || !isConnectionLoss(error)) throw error;
      if (!this.unreachable) {
        this.unreachable = true;
        this.log.warn('cannot connect to PostgreSQL; calls fail with -32603 until it is back', { error: (error as Error).message });
      }
      throw storeUnavailable();
    }
    let lost: Error | undefined;
    try {
      return await work(client);
    } catch (error) {
      if (!isConnectionLoss(error)) throw error;
      lost = error as Error;
      if (!this.serving) throw error;
      this.connectionLost(client, error);
      throw storeUnavailable();
    } finally {
      // Handing the error back makes the pool discard the connection rather than reuse it.
      client.release(lost);
    }
  }

  private query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.withClient((client) => client.query<R>(text, values));
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.schema)}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
      const applied = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
      const done = new Set(applied.rows.map((row) => row.version));
      for (const [index, sql] of MIGRATIONS.entries()) {
        const version = index + 1;
        if (done.has(version)) continue;
        await client.query(sql);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [version]);
      }
    });
  }

  /**
   * Connects the client that LISTENs. When it is lost it comes back with backoff, and once it listens
   * again a catch-up re-reads what its notifications would have said meanwhile: queued work for idle
   * managers, and work orders finished since shortly before the loss for waiting listeners.
   */
  private async listen(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.connectionString,
      application_name: `tcf-events:${this.schema}`,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      connectionTimeoutMillis: LISTEN_CONNECT_TIMEOUT_MS,
    });
    client.on('notification', (message) => this.deliver(message));
    client.on('error', (error) => this.listenerLost(client, error));
    client.on('end', () => this.listenerLost(client, new Error('Connection terminated unexpectedly')));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channels.submitted}; LISTEN ${this.channels.finished}`);
      // Before it becomes the listener, so a failed catch-up is retried with the next connection.
      if (this.eventsLostAt !== undefined) await this.catchUp(this.eventsLostAt - CATCH_UP_MARGIN_MS);
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closing) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listener = client;
    if (this.eventsLostAt !== undefined) {
      this.log.info('listening for store events again', { downMs: Date.now() - this.eventsLostAt });
      this.eventsLostAt = undefined;
    }
  }

  private listenerLost(client: pg.Client, error: unknown): void {
    if (this.closing || this.listener !== client) return;
    this.listener = undefined;
    this.eventsLostAt = Date.now();
    this.connectionLost(client, error, 'events');
    void client.end().catch(() => undefined);
    this.relisten(RECONNECT_FIRST_MS);
  }

  private relisten(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.listen().catch(() => {
        if (!this.closing) this.relisten(Math.min(delayMs * 2, RECONNECT_MAX_MS));
      });
    }, delayMs);
    this.reconnectTimer.unref();
  }

  /** Raises the events the LISTEN connection may have missed; a repeat of one already heard is harmless. */
  private async catchUp(finishedSince: number): Promise<void> {
    const queued = await this.query<{ work_order_id: string; worker_id: string }>(
      `SELECT DISTINCT ON (worker_id) worker_id, work_order_id FROM work_orders WHERE state = 'queued' ORDER BY worker_id, seq`,
    );
    const finished = await this.query<{ work_order_id: string }>('SELECT work_order_id FROM work_orders WHERE finished_at >= $1', [finishedSince]);
    for (const row of queued.rows) this.events.emit('event', { type: 'submitted', workOrderId: row.work_order_id, workerId: row.worker_id } satisfies StoreEvent);
    for (const row of finished.rows) this.events.emit('event', { type: 'finished', workOrderId: row.work_order_id } satisfies StoreEvent);
  }

  private deliver(message: pg.Notification): void {
    let payload: { workOrderId?: unknown; workerId?: unknown };
    try {
      payload = JSON.parse(message.payload ?? '') as typeof payload;
    } catch {
      return;
    }
    if (typeof payload.workOrderId !== 'string') return;
    if (message.channel === this.channels.submitted && typeof payload.workerId === 'string') {
      this.events.emit('event', { type: 'submitted', workOrderId: payload.workOrderId, workerId: payload.workerId } satisfies StoreEvent);
    } else if (message.channel === this.channels.finished) {
      this.events.emit('event', { type: 'finished', workOrderId: payload.workOrderId } satisfies StoreEvent);
    }
  }

  private transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // On a lost connection the server has rolled back already.
        if (!isConnectionLoss(error)) await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  private notify(client: pg.PoolClient, channel: string, payload: object): Promise<unknown> {
    return client.query('SELECT pg_notify($1, $2)', [channel, JSON.stringify(payload)]);
  }

  async putWorker(worker: WorkerRecord): Promise<void> {
    const workerId = canonicalId(worker.workerId);
    await this.transaction(async (client) => {
      await client.query(
        `INSERT INTO workers (worker_id, worker_type, organization_id, record) VALUES ($1, $2, $3, $4)
         ON CONFLICT (worker_id) DO UPDATE SET worker_type = EXCLUDED.worker_type, organization_id = EXCLUDED.organization_id, record = EXCLUDED.record`,
        [workerId, worker.workerType, canonicalId(worker.organizationId), worker],
      );
      await client.query('DELETE FROM worker_application_types WHERE worker_id = $1', [workerId]);
      await client.query('INSERT INTO worker_application_types (application_type_id, worker_id) SELECT DISTINCT unnest($1::text[]), $2', [
        worker.applicationTypeId.map(canonicalId),
        workerId,
      ]);
    });
  }

  async getWorker(workerId: string): Promise<WorkerRecord | undefined> {
    const result = await this.query<{ record: WorkerRecord }>('SELECT record FROM workers WHERE worker_id = $1', [workerId]);
    return result.rows[0]?.record;
  }

  async updateWorker(workerId: string, change: { details?: WorkerDetails; status?: number }): Promise<WorkerRecord | undefined> {
    const patch: Partial<WorkerRecord> = {};
    if (change.details) patch.details = change.details;
    if (change.status !== undefined) patch.status = change.status;
    const result = await this.query<{ record: WorkerRecord }>('UPDATE workers SET record = record || $2::jsonb WHERE worker_id = $1 RETURNING record', [workerId, patch]);
    return result.rows[0]?.record;
  }

  async announceEncryptionKey(
    workerId: string,
    change: { expectedSignature: string; fresh: KeyAnnouncement; retired: { nonce?: string; keyFingerprint: string }; details: WorkerDetails },
  ): Promise<KeyAnnouncementOutcome> {
    return this.transaction(async (client): Promise<KeyAnnouncementOutcome> => {
      const current = await client.query<{ record: WorkerRecord }>('SELECT record FROM workers WHERE worker_id = $1 FOR UPDATE', [workerId]);
      const record = current.rows[0]?.record;
      if (!record) return 'no-worker';
      if (record.details.workerTypeData.encryptionKeySignature !== change.expectedSignature) return 'changed';
      const seen = await client.query<{ kind: string }>(
        `SELECT kind FROM worker_key_history WHERE worker_id = $1 AND ((kind = 'nonce' AND value = $2) OR (kind = 'key' AND value = $3))`,
        [workerId, change.fresh.nonce, change.fresh.keyFingerprint],
      );
      if (seen.rows.some((row) => row.kind === 'nonce')) return 'nonce-used';
      if (seen.rows.length > 0) return 'key-used';
      const rows = [change.retired, change.fresh].flatMap((announcement) => [
        ...(announcement.nonce === undefined ? [] : [['nonce', announcement.nonce]]),
        ['key', announcement.keyFingerprint],
      ]);
      await client.query(
        'INSERT INTO worker_key_history (worker_id, kind, value) SELECT $1, kind, value FROM unnest($2::text[], $3::text[]) AS h(kind, value) ON CONFLICT DO NOTHING',
        [workerId, rows.map(([kind]) => kind), rows.map(([, value]) => value)],
      );
      await client.query('UPDATE workers SET record = record || $2::jsonb WHERE worker_id = $1', [workerId, { details: change.details }]);
      return 'applied';
    });
  }

  /** Counts every match and reads the page after the cursor in one statement, so both see one snapshot. */
  private async page(from: string, conditions: string[], values: unknown[], idColumn: string, after: string | undefined, limit: number): Promise<Page> {
    const whereAll = (extra: string[]) => (conditions.length + extra.length > 0 ? `WHERE ${[...conditions, ...extra].join(' AND ')}` : '');
    const pageValues = [...values];
    const afterCursor: string[] = [];
    if (after !== undefined) {
      pageValues.push(after);
      afterCursor.push(`${idColumn} > $${pageValues.length}`);
    }
    pageValues.push(limit + 1);
    const result = await this.query<{ total: string; ids: string[] }>(
      `SELECT (SELECT count(*) FROM ${from} ${whereAll([])}) AS total,
              ARRAY(SELECT ${idColumn} FROM ${from} ${whereAll(afterCursor)} ORDER BY ${idColumn} LIMIT $${pageValues.length}) AS ids`,
      pageValues,
    );
    const row = result.rows[0];
    const found = row?.ids ?? [];
    const ids = found.slice(0, limit);
    return { totalCount: Number(row?.total ?? 0), ids, nextCursor: found.length > limit ? (ids[ids.length - 1] ?? '') : '' };
  }

  async lookUpWorkers(filter: WorkerFilter, after: string | undefined, limit: number): Promise<Page> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    if (filter.workerType !== undefined) {
      values.push(filter.workerType);
      conditions.push(`w.worker_type = $${values.length}`);
    }
    if (filter.organizationId !== undefined) {
      values.push(canonicalId(filter.organizationId));
      conditions.push(`w.organization_id = $${values.length}`);
    }
    if (filter.applicationTypeId !== undefined) {
      values.push(canonicalId(filter.applicationTypeId));
      conditions.push(`EXISTS (SELECT 1 FROM worker_application_types a WHERE a.worker_id = w.worker_id AND a.application_type_id = $${values.length})`);
    }
    return this.page('workers w', conditions, values, 'w.worker_id', after, limit);
  }

  async submitWorkOrder(order: NewWorkOrder, limits: { maxPending: number }): Promise<SubmitOutcome> {
    const result = await this.query<{ outcome: SubmitOutcome }>(
      'SELECT tcf_submit_work_order($1, $2, $3, $4, $5, $6, $7) AS outcome',
      [order.workOrderId, order.workerId, order.requesterId, order.submittedAt, order.request, limits.maxPending, this.channels.submitted],
    );
    return result.rows[0]!.outcome;
  }

  async getWorkOrder(workOrderId: string): Promise<StoredWorkOrder | undefined> {
    const result = await this.query<WorkOrderRow>('SELECT * FROM work_orders WHERE work_order_id = $1', [workOrderId]);
    const row = result.rows[0];
    return row ? toWorkOrder(row) : undefined;
  }

  async claimWorkOrder(owner: string, leaseMs: number, workerIds?: readonly string[]): Promise<ClaimedWorkOrder | undefined> {
    const result = await this.query<WorkOrderRow & { claimed_worker_status: number | null }>(
      'SELECT (claimed).*, claimed_worker_status FROM tcf_claim_work_order_with_status($1, $2, $3)',
      [owner, Date.now() + leaseMs, workerIds ? [...workerIds] : null],
    );
    const row = result.rows[0];
    if (!row) return undefined;
    const order: ClaimedWorkOrder = toWorkOrder(row);
    if (row.claimed_worker_status !== null) order.workerStatus = row.claimed_worker_status;
    return order;
  }

  async renewClaim(workOrderId: string, owner: string, leaseMs: number): Promise<boolean> {
    const result = await this.query(
      `UPDATE work_orders SET lease_until = $3 WHERE work_order_id = $1 AND state = 'processing' AND claimed_by = $2`,
      [workOrderId, owner, Date.now() + leaseMs],
    );
    return result.rowCount === 1;
  }

  async finishWorkOrder(workOrderId: string, owner: string, outcome: WorkOrderOutcome, completionUpdate?: ReceiptUpdate): Promise<boolean> {
    const result = await this.query<{ finished: boolean }>(
      'SELECT tcf_finish_work_order($1, $2, $3, $4, $5, $6, $7) AS finished',
      [workOrderId, owner, 'result' in outcome ? 'completed' : 'failed', outcome, completionUpdate ?? null, Date.now(), this.channels.finished],
    );
    return result.rows[0]!.finished;
  }

  private async release(condition: string, value: unknown): Promise<number> {
    return this.transaction(async (client) => {
      const released = await client.query<{ work_order_id: string; worker_id: string }>(
        `UPDATE work_orders SET state = 'queued', claimed_by = NULL, lease_until = NULL
         WHERE state = 'processing' AND ${condition} RETURNING work_order_id, worker_id`,
        [value],
      );
      for (const row of released.rows) await this.notify(client, this.channels.submitted, { workOrderId: row.work_order_id, workerId: row.worker_id });
      return released.rowCount ?? 0;
    });
  }

  releaseExpiredClaims(now: number): Promise<number> {
    return this.release('lease_until < $1', now);
  }

  releaseClaimsOf(owner: string): Promise<number> {
    return this.release('claimed_by = $1', owner);
  }

  async pendingCount(): Promise<number> {
    const result = await this.query<{ count: string }>('SELECT count FROM pending_work_orders');
    return Number(result.rows[0]?.count ?? 0);
  }

  async createReceipt(receipt: ReceiptCreate): Promise<'created' | 'exists'> {
    const workOrderId = canonicalId(receipt.workOrderId);
    return this.transaction(async (client) => {
      // Locking the work order first means a finish running now either committed before this read
      // (its update is appended here) or waits and then finds this receipt to append to.
      const order = await client.query<{ completion_update: ReceiptUpdate | null }>('SELECT completion_update FROM work_orders WHERE work_order_id = $1 FOR SHARE', [workOrderId]);
      const inserted = await client.query(
        `INSERT INTO receipts (work_order_id, worker_service_id, worker_id, requester_id, current_status, create_params)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (work_order_id) DO NOTHING`,
        [workOrderId, canonicalId(receipt.workerServiceId), canonicalId(receipt.workerId), canonicalId(receipt.requesterId), receipt.receiptCreateStatus, receipt],
      );
      if (inserted.rowCount === 0) return 'exists';
      const update = order.rows[0]?.completion_update;
      if (update) await client.query('SELECT tcf_append_completion_update($1, $2)', [workOrderId, update]);
      return 'created';
    });
  }

  /** False when the work order has no receipt. */
  private async appendIn(client: pg.PoolClient, workOrderId: string, update: ReceiptUpdate): Promise<boolean> {
    const result = await client.query<{ appended: boolean }>('SELECT tcf_append_receipt_update($1, $2) AS appended', [workOrderId, update]);
    return result.rows[0]!.appended;
  }

  async getReceipt(workOrderId: string): Promise<StoredReceipt | undefined> {
    const result = await this.query<{ create_params: ReceiptCreate; updates: ReceiptUpdate[]; current_status: string }>(
      `SELECT create_params, current_status,
              ARRAY(SELECT body FROM receipt_updates u WHERE u.work_order_id = r.work_order_id ORDER BY position) AS updates
       FROM receipts r WHERE work_order_id = $1`,
      [workOrderId],
    );
    const row = result.rows[0];
    return row ? { create: row.create_params, updates: row.updates, currentStatus: Number(row.current_status) } : undefined;
  }

  async appendReceiptUpdate(workOrderId: string, update: ReceiptUpdate, expectedUpdateCount?: number): Promise<'appended' | 'no-receipt' | 'conflict'> {
    if (expectedUpdateCount === undefined) return (await this.withClient((client) => this.appendIn(client, workOrderId, update))) ? 'appended' : 'no-receipt';
    // One statement: the count is compared under the receipt's row lock, so of two appends checked
    // against the same receipt only one gets in.
    const result = await this.query<{ outcome: 'appended' | 'no-receipt' | 'conflict' }>(
      `WITH counted AS (
         UPDATE receipts SET update_count = update_count + 1, current_status = ($2::jsonb->>'updateType')::bigint
         WHERE work_order_id = $1 AND update_count = $3 RETURNING update_count),
       appended AS (
         INSERT INTO receipt_updates (work_order_id, position, body) SELECT $1, update_count, $2 FROM counted RETURNING 1)
       SELECT CASE WHEN EXISTS (SELECT 1 FROM appended) THEN 'appended'
                   WHEN EXISTS (SELECT 1 FROM receipts WHERE work_order_id = $1) THEN 'conflict'
                   ELSE 'no-receipt' END AS outcome`,
      [workOrderId, update, expectedUpdateCount],
    );
    return result.rows[0]!.outcome;
  }

  async lookUpReceipts(filter: ReceiptFilter, after: string | undefined, limit: number): Promise<Page> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    const add = (column: string, value: unknown) => {
      values.push(value);
      conditions.push(`${column} = $${values.length}`);
    };
    if (filter.workerServiceId !== undefined) add('worker_service_id', canonicalId(filter.workerServiceId));
    if (filter.workerId !== undefined) add('worker_id', canonicalId(filter.workerId));
    if (filter.requesterId !== undefined) add('requester_id', canonicalId(filter.requesterId));
    if (filter.receiptStatus !== undefined && filter.receiptStatus !== ReceiptStatus.ANY) add('current_status', filter.receiptStatus);
    return this.page('receipts', conditions, values, 'work_order_id', after, limit);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.events.on('event', listener);
    return () => this.events.off('event', listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.reconnectTimer);
    this.events.removeAllListeners();
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => undefined);
    await this.pool.end();
  }

  /** Drops this store's schema and everything in it: for tests that each made their own. */
  async dropSchema(): Promise<void> {
    await this.query(`DROP SCHEMA IF EXISTS ${quoteIdentifier(this.schema)} CASCADE`);
  }
}
