package config

import (
	"fmt"
	"strings"
)

// Syslog says where the per-login summary line goes besides stderr.
type Syslog struct {
	// Facility is the code as syslog(3) numbers it (authpriv is 10).
	Facility int
	// Name is the facility as written in the file, lower case.
	Name string
}

// facilities are the codes of RFC 5424's table that a program may log
// with. kern (0) is left out: it is the kernel's, and syslog(3) replaces it
// with the default facility.
var facilities = map[string]int{
	"user": 1, "mail": 2, "daemon": 3, "auth": 4, "syslog": 5, "lpr": 6,
	"news": 7, "uucp": 8, "cron": 9, "authpriv": 10, "ftp": 11,
	"local0": 16, "local1": 17, "local2": 18, "local3": 19,
	"local4": 20, "local5": 21, "local6": 22, "local7": 23,
}

// parseSyslog reads syslog_facility: unset means no syslog at all, so a
// file written for the original changes nothing.
func parseSyslog(s string, set bool) (*Syslog, error) {
	if !set {
		return nil, nil
	}
	name := strings.ToLower(strings.TrimSpace(s))
	code, ok := facilities[name]
	if !ok {
		return nil, fmt.Errorf("syslog_facility %q %w", s, ErrNotFacility)
	}
	return &Syslog{Facility: code, Name: name}, nil
}
