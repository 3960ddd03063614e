package main

import (
	"strings"
	"testing"
)

// A value stands bare only when nothing in it can end it or start another
// field; anything else is quoted onto one line, so a user name (whatever the
// client typed) cannot forge a field or a line.
func TestSummaryFieldsCannotBeForged(t *testing.T) {
	for in, want := range map[string]string{
		"":                        "-",
		"-":                       `"-"`,
		"alice":                   "alice",
		"alice.b-c_d@EXAMPLE":     "alice.b-c_d@EXAMPLE",
		"2001:db8::1":             "2001:db8::1",
		"a,b":                     "a,b",
		"x rhost=198.51.100.9":    `"x rhost=198.51.100.9"`,
		"x\nvault-ssh-helper[1]:": `"x\nvault-ssh-helper[1]:"`,
		`a"b`:                     `"a\"b"`,
		"é":                       `"é"`,
	} {
		if got := field(in); got != want {
			t.Errorf("field(%q) = %s, want %s", in, got, want)
		}
	}
}

// The TOTP mode's answer names no IP: its lines have no otp_ip field.
func TestSummaryHasOTPIPOnlyInTheOTPMode(t *testing.T) {
	totp := (&loginReport{user: "alice", rhost: "192.0.2.1"}).line(loginEnd{reason: "the code is not valid", requestIDs: []string{"a", "b"}})
	if want := `login denied: rhost=192.0.2.1 user=alice request_id=a,b reason="the code is not valid"`; totp != want {
		t.Errorf("TOTP line = %s\nwant        %s", totp, want)
	}
	otp := (&loginReport{user: "alice", rhost: "192.0.2.1", otpMode: true}).line(loginEnd{allowed: true})
	if !strings.Contains(otp, " otp_ip=- ") {
		t.Errorf("OTP line without otp_ip: %s", otp)
	}
}
