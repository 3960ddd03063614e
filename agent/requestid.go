package agent

import "sync"

// requestIDs keeps the request_id of each answer Vault gave this client.
// Vault writes the same id into its audit log, so a log line carrying it
// leads to the request's audit entry. The id never decides anything: an
// answer without one, or with one that is not Vault's shape, is taken or
// refused on its own merits, as before.
type requestIDs struct {
	mu  sync.Mutex // the watchdog may read while the run still asks Vault
	ids []string
}

// maxRequestID bounds what a log line quotes: Vault's ids are 36-byte UUIDs.
const maxRequestID = 64

// RequestIDs lists the request_id of every answer Vault gave this client,
// in order. Vault v1.14.0 sends one only with a 2xx answer: an error
// answer ({"errors": [...]}) carries none, in its body or its headers.
func (c *Client) RequestIDs() []string {
	c.answers.mu.Lock()
	defer c.answers.mu.Unlock()
	return append([]string(nil), c.answers.ids...)
}

// noteRequestID records the top-level request_id of a 2xx body when it
// has the shape of an id.
func (c *Client) noteRequestID(body []byte) {
	id, ok := requestIDOf(body)
	if !ok {
		return
	}
	c.answers.mu.Lock()
	c.answers.ids = append(c.answers.ids, id)
	c.answers.mu.Unlock()
}

// requestIDOf reads the answer's request_id with DecodeObject's rules (one
// key, written in lower case) and keeps it only when it is made of ASCII
// letters, digits and dashes, so it can stand unquoted in a log line.
func requestIDOf(body []byte) (string, bool) {
	var id string
	_, err := decodeMember(body, "request_id", &id)
	return id, err == nil && isIDShaped(id)
}

func isIDShaped(id string) bool {
	if id == "" || len(id) > maxRequestID {
		return false
	}
	for _, r := range id {
		if !(r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}
