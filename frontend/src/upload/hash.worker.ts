// The hashing worker: reads and hashes files off the page's thread, so the page stays responsive.

import { answerHashRequest, type HashRequest, type HashResponse } from './hash-protocol';

const scope = self as unknown as DedicatedWorkerGlobalScope;

scope.onmessage = (event: MessageEvent<HashRequest>) => {
  void answerHashRequest(event.data, (response: HashResponse) => scope.postMessage(response));
};
