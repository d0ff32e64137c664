/**
 * Live updates through the node's FHIR Subscriptions (R5 Backport on R4, websocket channel): subscribe to one
 * of the node's patient topics (`patient-results`, `patient-consent`, `patient-break-glass`,
 * `patient-access-log`), fetch a binding token, open the WebSocket and call `onEvent` for every event
 * notification (id-only payloads: the screen re-reads what changed through the API, under the same
 * authorisation as any read). The subscription is deleted when the screen goes away; a dropped socket is
 * re-bound with a fresh token after a short pause. Purpose-of-use headers (a clinician's) go with every call.
 *
 * Limits: one subscription per mounted hook; notifications lost while disconnected are not replayed (the
 * screen re-reads on reconnection, which covers them).
 */
import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client';

export type TopicName = 'patient-results' | 'patient-consent' | 'patient-break-glass' | 'patient-access-log';
export type LiveState = 'connecting' | 'live' | 'offline';

const BACKPORT = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition';

interface Parameters {
  parameter?: { name: string; valueString?: string; valueUrl?: string; valueCode?: string }[];
}

/** The notification type of a message the socket received (`handshake`, `heartbeat`, `event-notification`). */
export function notificationType(message: string): string | undefined {
  try {
    const bundle = JSON.parse(message) as { entry?: { resource?: Parameters & { resourceType?: string } }[] };
    const status = bundle.entry?.[0]?.resource;
    if (status?.resourceType !== 'Parameters') return undefined;
    return status.parameter?.find((p) => p.name === 'type')?.valueCode;
  } catch {
    return undefined;
  }
}

export function subscriptionFor(topic: TopicName, patientId: string) {
  return {
    resourceType: 'Subscription',
    status: 'requested',
    reason: `live ${topic} in the web app`,
    criteria: `${window.location.origin}/fhir/SubscriptionTopic/${topic}`,
    _criteria: {
      extension: [
        { url: `${BACKPORT}/backport-filter-criteria`, valueString: `patient=Patient/${patientId}` },
      ],
    },
    channel: {
      type: 'websocket',
      payload: 'application/fhir+json',
      _payload: { extension: [{ url: `${BACKPORT}/backport-payload-content`, valueCode: 'id-only' }] },
    },
  };
}

/** Follows `topic` for `patientId` (undefined: nothing) while mounted; returns the connection state. */
export function useTopic(
  topic: TopicName,
  patientId: string | undefined,
  onEvent: () => void,
  headers: Record<string, string> = {},
): LiveState {
  const [state, setState] = useState<LiveState>('connecting');
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const headerKey = JSON.stringify(headers);
  useEffect(() => {
    if (!patientId) return;
    const extra = JSON.parse(headerKey) as Record<string, string>;
    let stopped = false;
    let socket: WebSocket | undefined;
    let subscriptionId: string | undefined;
    let retry: ReturnType<typeof setTimeout> | undefined;

    const bind = async () => {
      if (stopped || !subscriptionId) return;
      setState('connecting');
      try {
        const binding = await api<Parameters>(`/fhir/Subscription/${subscriptionId}/$get-ws-binding-token`, {
          headers: extra,
        });
        const token = binding.parameter?.find((p) => p.name === 'token')?.valueString;
        const url = binding.parameter?.find((p) => p.name === 'websocket-url')?.valueUrl;
        if (!token || !url || stopped) return;
        const ws = new WebSocket(url);
        socket = ws;
        ws.onopen = () => ws.send(`bind-with-token ${token}`);
        ws.onmessage = (message) => {
          const type = notificationType(String(message.data));
          if (type === 'handshake') {
            setState('live');
            handler.current(); // whatever happened before the socket was bound
          } else if (type === 'event-notification') handler.current();
        };
        ws.onclose = () => {
          if (stopped) return;
          setState('offline');
          retry = setTimeout(() => void bind(), 3_000);
        };
      } catch {
        if (stopped) return;
        setState('offline');
        retry = setTimeout(() => void bind(), 5_000);
      }
    };

    void (async () => {
      try {
        const created = await api<{ id: string }>('/fhir/Subscription', {
          method: 'POST',
          json: subscriptionFor(topic, patientId),
          headers: extra,
        });
        subscriptionId = created.id;
        if (stopped) {
          void api(`/fhir/Subscription/${created.id}`, { method: 'DELETE', headers: extra }).catch(() => {});
          return;
        }
        await bind();
      } catch {
        if (!stopped) setState('offline');
      }
    })();

    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      socket?.close();
      if (subscriptionId) {
        void api(`/fhir/Subscription/${subscriptionId}`, { method: 'DELETE', headers: extra }).catch(
          () => {},
        );
      }
    };
  }, [topic, patientId, headerKey]);
  return state;
}
