#!/usr/bin/perl
# tests/notify-listen.pl SOCKET OUT — systemd's side of sd_notify for the
# tests: binds a datagram socket at SOCKET (a path), as systemd binds
# $NOTIFY_SOCKET for a Type=notify unit, and appends each datagram it
# receives to OUT followed by a line "--" (flushed at once). Ends after
# a datagram with STOPPING=1, or when killed.
use strict;
use warnings;
use IO::Handle;
use IO::Socket::UNIX;
use Socket qw(SOCK_DGRAM);

my ($path, $out) = @ARGV;
die "usage: notify-listen.pl SOCKET OUT\n" unless defined $out;
unlink $path;
my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
    or die "notify-listen: cannot bind $path: $!\n";
open(my $fh, '>>', $out) or die "notify-listen: cannot open $out: $!\n";
$fh->autoflush(1);
print $fh "listening\n--\n";
while (1) {
	defined($s->recv(my $buf, 4096)) or die "notify-listen: recv: $!\n";
	print $fh "$buf\n--\n";
	last if $buf =~ /^STOPPING=1$/m;
}
