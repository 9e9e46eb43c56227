#!/usr/bin/perl
# The launcher's stderr filter (see ./hesstrain): copies stdin to stdout as it comes, but for the
# complete lines that match the pattern given as the first argument, which it drops. A partial
# line (the progress bar's, which ends in \r) is passed on at once unless it begins as PyTorch's
# native log lines do ("[W", "[E", "[I"), in which case it waits for its line end.
use strict;
use warnings;
$| = 1;
my $noise = qr/$ARGV[0]/;
my $buf = "";
while (sysread(STDIN, my $chunk, 65536)) {
    $buf .= $chunk;
    while ($buf =~ s/\A([^\n]*\n)//) {
        my $line = $1;
        print $line unless $line =~ $noise;
    }
    if (length($buf) && $buf !~ /\A\[([WEI]|\z)/) {
        print $buf;
        $buf = "";
    }
}
print $buf;
