import type { FlowNode } from './node-red';

/** A Catch node for every error in the flow, wired to a helper node with id `caught`. */
export const catchAll: FlowNode[] = [
  { id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['caught']] },
  { id: 'caught', type: 'helper' },
];

/** Puts nodes on one tab: Catch nodes only see errors of nodes on their own flow. */
export function inTab(nodes: FlowNode[], tab = 'tab1'): FlowNode[] {
  return [{ id: tab, type: 'tab', label: 'test' }, ...nodes.map((n) => (n.type.startsWith('sam3-model') ? n : { ...n, z: tab }))];
}
