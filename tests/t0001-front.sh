#!/bin/sh
# The front command: `shapesync <stage>` runs shapesync-<stage>.
. "$(dirname "$0")/lib.sh"

test_expect_success 'no stage is a usage error' '
	test_must_fail 2 shapesync &&
	test_stderr_has "no stage given"
'

test_expect_success 'unknown stage is a usage error naming it' '
	test_must_fail 2 shapesync nosuchstage &&
	test_stderr_has "nosuchstage. is not a shapesync stage"
'

test_expect_success 'a stage name cannot be a path' '
	test_must_fail 2 shapesync ../x &&
	test_stderr_has "invalid stage name"
'

test_expect_success 'runs a sibling shapesync-<stage> with the arguments' '
	mkdir bin &&
	cp "$SS_BUILD/bin/shapesync" bin/ &&
	printf "#!/bin/sh\necho \"args:\$*\"\n" >bin/shapesync-echo &&
	chmod +x bin/shapesync-echo &&
	bin/shapesync echo --flag "two words" >out &&
	test_eq "args:--flag two words" "$(cat out)"
'

test_expect_success 'stage options after the stage name go to the stage' '
	bin/shapesync echo --help >out &&
	test_eq "args:--help" "$(cat out)"
'

test_done
