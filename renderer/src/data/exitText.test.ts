// How a session's end is put in words (status bar, Engine panel).
import test from 'node:test';
import assert from 'node:assert/strict';
import { signalText, stateText } from './exitText.js';

test('signals by name and number', () => {
  assert.equal(signalText(9), 'SIGKILL (9)');
  assert.equal(signalText(15), 'SIGTERM (15)');
  assert.equal(signalText(11), 'SIGSEGV (11)');
  assert.equal(signalText(31), 'SIGSYS (31)');
  assert.equal(signalText(34), 'SIGRTMIN (34)');
  assert.equal(signalText(36), 'SIGRTMIN+2 (36)');
  assert.equal(signalText(99), 'signal 99');
  assert.equal(signalText(0), 'signal 0');
});

test('state: exit code, killed by a signal, or the state itself', () => {
  assert.equal(stateText({ state: 'exited', exit: { code: 0, signal: null } }), 'exited with code 0');
  assert.equal(stateText({ state: 'exited', exit: { code: 3, signal: null } }), 'exited with code 3');
  assert.equal(stateText({ state: 'exited', exit: { code: null, signal: 9 } }), 'killed by SIGKILL (9)');
  assert.equal(stateText({ state: 'running' }), 'running');
  assert.equal(stateText({ state: 'loaded' }), 'loaded');
  assert.equal(stateText({ state: 'exited' }), 'exited');
});
